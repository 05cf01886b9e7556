// cytoscape with the extensions the pages use, registered once.
import cytoscape from 'cytoscape';
import dagre from 'cytoscape-dagre';
import svg from 'cytoscape-svg';

cytoscape.use(dagre);
cytoscape.use(svg);

export default cytoscape;
