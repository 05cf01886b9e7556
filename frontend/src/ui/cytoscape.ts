// cytoscape with the layout every page that draws a graph uses, registered once.
import cytoscape from 'cytoscape';
import dagre from 'cytoscape-dagre';

cytoscape.use(dagre);

export default cytoscape;
