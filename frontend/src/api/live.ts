// A websocket that reconnects with backoff and reports its state for the live indicator.

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'stopped';

/** Delay before reconnect attempt `attempt` (0-based): 1s doubling to 30s, +-20% jitter. */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(30_000, 1000 * 2 ** Math.min(attempt, 15));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** ws:// or wss:// URL for a same-origin path. */
export function socketUrl(path: string, loc: { protocol: string; host: string } = window.location): string {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}${path}`;
}

export interface LiveSocketOptions<M> {
  onMessage: (message: M) => void;
  onState: (state: LiveState) => void;
}

export class LiveSocket<M> {
  private socket: WebSocket | null = null;
  private timer: number | undefined;
  private attempt = 0;
  private stopped = true;

  constructor(
    private readonly path: string,
    private readonly options: LiveSocketOptions<M>,
  ) {}

  start(): void {
    this.stopped = false;
    this.open('connecting');
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.timer);
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onclose = null;
      socket.onmessage = null;
      socket.onerror = null;
      socket.close(1000);
    }
    this.options.onState('stopped');
  }

  private open(state: LiveState): void {
    this.options.onState(state);
    let socket: WebSocket;
    try {
      socket = new WebSocket(socketUrl(this.path));
    } catch {
      this.retry();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.options.onState('live');
    };
    socket.onmessage = (event) => {
      let message: M;
      try {
        message = JSON.parse(String(event.data)) as M;
      } catch {
        return;
      }
      this.options.onMessage(message);
    };
    socket.onclose = () => {
      if (this.socket === socket) this.socket = null;
      this.retry();
    };
  }

  private retry(): void {
    if (this.stopped) return;
    this.options.onState('reconnecting');
    const delay = backoffDelay(this.attempt);
    this.attempt += 1;
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => {
      if (!this.stopped) this.open('reconnecting');
    }, delay);
  }
}
