// cytoscape with the extensions the pages use, registered once.
import cytoscape from 'cytoscape';
import dagre from 'cytoscape-dagre';

cytoscape.use(dagre);

export default cytoscape;
