// The router first: creating it starts loading the current page's chunk and data, which then
// arrive while react-dom is still being evaluated.
import { router } from './shell/router';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { RouterProvider } from 'react-router';

const root = document.getElementById('app');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <RouterProvider router={router} />
    </StrictMode>,
  );
}
