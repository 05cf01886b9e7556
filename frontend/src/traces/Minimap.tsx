// The timeline minimap, as Jaeger UI's: every span of the trace in a strip; dragging across it
// zooms the timeline to that time range.
import { useEffect, useRef, useState } from 'react';
import { serviceColors } from './model/colors';
import type { TraceModel } from './model/tree';

export function Minimap({ model, range, onRange }: { model: TraceModel; range: readonly [number, number]; onRange: (range: [number, number]) => void }) {
  const box = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const [drag, setDrag] = useState<[number, number] | null>(null);

  useEffect(() => {
    const el = canvas.current;
    if (!el) return;
    const draw = () => {
      const width = el.clientWidth;
      const height = el.clientHeight;
      el.width = width * devicePixelRatio;
      el.height = height * devicePixelRatio;
      const ctx = el.getContext('2d');
      if (!ctx) return;
      ctx.scale(devicePixelRatio, devicePixelRatio);
      const total = model.duration || 1;
      const rowHeight = Math.max(height / Math.max(1, model.rows.length), 0.5);
      for (const row of model.rows) {
        ctx.fillStyle = row.isError ? '#c9190b' : serviceColors.get(row.serviceName);
        ctx.fillRect((row.startOffset / total) * width, row.index * rowHeight, Math.max(1, (row.duration / total) * width), Math.max(rowHeight - 0.2, 0.5));
      }
    };
    draw();
    const observer = new ResizeObserver(draw);
    observer.observe(el);
    return () => observer.disconnect();
  }, [model]);

  const fraction = (clientX: number) => {
    const rect = box.current!.getBoundingClientRect();
    return Math.min(1, Math.max(0, (clientX - rect.left) / rect.width));
  };
  const zoomed = range[0] > 0 || range[1] < 1;
  const shown = drag ? ([Math.min(...drag), Math.max(...drag)] as const) : null;

  return (
    <div
      className="minimap"
      ref={box}
      data-testid="timeline-minimap"
      title="Drag across the minimap to zoom into a time range"
      onPointerDown={(e) => {
        (e.target as Element).setPointerCapture?.(e.pointerId);
        const f = fraction(e.clientX);
        setDrag([f, f]);
      }}
      onPointerMove={(e) => {
        if (drag) setDrag([drag[0], fraction(e.clientX)]);
      }}
      onPointerUp={() => {
        if (shown && shown[1] - shown[0] > 0.005) onRange([shown[0], shown[1]]);
        setDrag(null);
      }}
    >
      <canvas ref={canvas} />
      {zoomed ? (
        <>
          <div className="minimap-shade" style={{ left: 0, width: `${range[0] * 100}%` }} />
          <div className="minimap-shade" style={{ left: `${range[1] * 100}%`, right: 0 }} />
        </>
      ) : null}
      {shown ? <div className="minimap-drag" style={{ left: `${shown[0] * 100}%`, width: `${(shown[1] - shown[0]) * 100}%` }} /> : null}
    </div>
  );
}
