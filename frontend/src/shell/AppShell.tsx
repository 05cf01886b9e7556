// The masthead with the navigation, and the page of the current route below it.
import { Link, NavLink, Outlet, useNavigation } from 'react-router';
import './app.css';

const NAV = [
  { section: 'graph', href: '/graph', label: 'Graph' },
  { section: 'traces', href: '/traces', label: 'Traces' },
  { section: 'dependencies', href: '/dependencies', label: 'Dependencies' },
  { section: 'alerts', href: '/alerts', label: 'Alerts' },
] as const;

function Logo() {
  return (
    <svg viewBox="0 0 24 24" className="brand-mark" aria-hidden="true">
      <path d="M5 6 L12 12 L19 5 M12 12 L7 19 M12 12 L19 17" stroke="currentColor" strokeWidth="1.6" fill="none" />
      <circle cx="5" cy="6" r="2.4" />
      <circle cx="19" cy="5" r="2.4" />
      <circle cx="7" cy="19" r="2.4" />
      <circle cx="19" cy="17" r="2.4" />
      <circle cx="12" cy="12" r="3" />
    </svg>
  );
}

export function AppShell() {
  const navigation = useNavigation();
  return (
    <>
      <header className="masthead">
        <Link to="/graph" className="brand" aria-label="meshview home">
          <Logo />
          <span>meshview</span>
        </Link>
        <nav className="nav" aria-label="Main">
          {NAV.map((item) => (
            <NavLink key={item.section} to={item.href} className="nav-link" data-testid={`nav-${item.section}`}>
              {item.label}
            </NavLink>
          ))}
        </nav>
      </header>
      <main className="app-main" id="main" aria-busy={navigation.state === 'loading'}>
        <Outlet />
      </main>
    </>
  );
}
