// The graph of a query, kept current: loaded from GET /api/v1/graph, then patched by the deltas of
// /ws/graph/ (live) or by diffing each poll. The state is mutated in place, as the canvas is:
// `onReplace` and `onDelta` tell the canvas, and `version` re-renders the panels.
import { useEffect, useRef, useState } from 'react';
import { isAbort } from '../api/http';
import { LiveSocket, type LiveState } from '../api/live';
import { fetchGraph } from '../api/meshview';
import { graphApiUrl, graphSocketPath, type GraphQuery, type UpdateMode } from './model/params';
import { applyDelta, diffGraph, isEmptyDelta, stateFromGraph, type AppliedDelta, type GraphState } from './model/store';
import type { GraphJson, GraphLiveMessage } from './model/types';

const POLL_MS: Partial<Record<UpdateMode, number>> = { '15s': 15_000, '1m': 60_000 };

export type FeedState = LiveState | 'polling' | 'manual';

export interface GraphSink {
  onReplace(state: GraphState): void;
  onDelta(applied: AppliedDelta, state: GraphState): void;
}

export interface GraphFeed {
  state: GraphState | null;
  version: number;
  feed: FeedState;
  error: string;
  loading: boolean;
  refresh(): void;
}

/**
 * `enabled` false: nothing to ask for yet (no namespace chosen). A new `layoutKey` starts the
 * graph afresh; another window of the same graph (replay) is diffed into the one drawn.
 */
export function useGraphFeed(query: GraphQuery, enabled: boolean, layoutKey: string, sink: GraphSink): GraphFeed {
  const stateRef = useRef<GraphState | null>(null);
  const drawnKey = useRef('');
  const sinkRef = useRef(sink);
  sinkRef.current = sink;
  const [version, setVersion] = useState(0);
  const [feed, setFeed] = useState<FeedState>('stopped');
  const [error, setError] = useState('');
  const [loading, setLoading] = useState(false);
  const refreshRef = useRef<() => void>(() => {});
  const apiUrl = graphApiUrl(query);
  const socketPath = graphSocketPath(query);

  useEffect(() => {
    if (drawnKey.current !== layoutKey || !enabled) {
      stateRef.current = null;
      drawnKey.current = layoutKey;
    }
    setError('');
    setVersion((v) => v + 1);
    if (!enabled) {
      setFeed(query.update === 'live' ? 'stopped' : query.update === 'manual' ? 'manual' : 'polling');
      refreshRef.current = () => {};
      return;
    }
    let inflight: AbortController | null = null;
    let stopped = false;

    const receiveGraph = (graph: GraphJson) => {
      const state = stateRef.current;
      if (!state || state.graphType !== graph.graphType) {
        stateRef.current = stateFromGraph(graph);
        sinkRef.current.onReplace(stateRef.current);
      } else {
        const delta = diffGraph(state, graph);
        state.duration = graph.duration;
        state.warnings = graph.warnings ?? [];
        const applied = applyDelta(state, delta);
        if (!isEmptyDelta(applied)) sinkRef.current.onDelta(applied, state);
      }
      setVersion((v) => v + 1);
    };

    const load = async () => {
      inflight?.abort();
      const controller = new AbortController();
      inflight = controller;
      setLoading(true);
      try {
        const graph = await fetchGraph(apiUrl, controller.signal);
        if (controller.signal.aborted || stopped) return;
        setError('');
        receiveGraph(graph);
      } catch (err) {
        if (isAbort(err) || stopped) return;
        setError(`The graph could not be loaded: ${(err as Error).message}`);
      } finally {
        if (inflight === controller) {
          inflight = null;
          setLoading(false);
        }
      }
    };
    refreshRef.current = () => void load();
    void load();

    let socket: LiveSocket<GraphLiveMessage> | null = null;
    let timer: number | undefined;
    if (query.update === 'live') {
      socket = new LiveSocket<GraphLiveMessage>(socketPath, {
        onState: (s) => {
          if (!stopped) setFeed(s);
        },
        onMessage: (message) => {
          if (message.type === 'graph.snapshot' && message.graph) {
            receiveGraph(message.graph);
          } else if (message.type === 'graph.delta' && stateRef.current) {
            const state = stateRef.current;
            const applied = applyDelta(state, message);
            if (!isEmptyDelta(applied)) sinkRef.current.onDelta(applied, state);
            setVersion((v) => v + 1);
          }
        },
      });
      socket.start();
    } else if (POLL_MS[query.update]) {
      setFeed('polling');
      timer = window.setInterval(() => void load(), POLL_MS[query.update]);
    } else {
      setFeed('manual');
    }
    return () => {
      stopped = true;
      inflight?.abort();
      socket?.stop();
      window.clearInterval(timer);
    };
  }, [apiUrl, socketPath, enabled, layoutKey, query.update]);

  return { state: stateRef.current, version, feed, error, loading, refresh: () => refreshRef.current() };
}
