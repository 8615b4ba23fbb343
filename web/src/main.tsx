import { render } from 'preact';
import { App } from './app.js';
import { registerServiceWorker } from './push.js';
import './styles.css';

render(<App />, document.getElementById('app')!);

// The service worker (web/src/sw.ts): shows pushed alerts while no page is open (the phone as a PWA).
void registerServiceWorker();
