import type { ReactNode } from 'react';

/** A labelled empty state: title, explanation, optional extra content. */
export function EmptyState({ testid, title, text, children }: { testid: string; title: string; text: string; children?: ReactNode }) {
  return (
    <div className="empty-state" data-testid={testid}>
      <h2>{title}</h2>
      <p>{text}</p>
      {children}
    </div>
  );
}
