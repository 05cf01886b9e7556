import { useEffect } from 'react';

/** The document title while a page shows: "<title> · meshview". */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · meshview`;
  }, [title]);
}
