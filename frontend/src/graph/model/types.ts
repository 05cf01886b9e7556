// The graph JSON served by GET /api/v1/graph and /ws/graph/: Kiali's shape plus meshview's extras.

export type GraphType = 'workload' | 'app' | 'versionedApp' | 'service';
export type NodeType = 'app' | 'service' | 'workload' | 'unknown' | 'box' | 'aggregate';
export type HealthStatus = 'Healthy' | 'Degraded' | 'Failure' | 'NA';
export type Protocol = 'http' | 'grpc' | 'tcp';

/** Rates are strings as Kiali writes them ("12.34"); percentages too ("2.5"). */
export type Rates = Record<string, string>;

export interface NodeTraffic {
  protocol: Protocol | string;
  rates?: Rates;
}

export interface DestService {
  cluster?: string;
  namespace: string;
  name: string;
}

export interface NodeData {
  id: string;
  parent?: string;
  nodeType: NodeType | string;
  cluster?: string;
  namespace: string;
  workload?: string;
  app?: string;
  version?: string;
  service?: string;
  destServices?: DestService[];
  traffic?: NodeTraffic[];
  healthData?: unknown;
  healthStatus?: HealthStatus | string;
  isRoot?: boolean;
  isOutside?: boolean;
  isInaccessible?: boolean;
  isIdle?: boolean;
  isDead?: boolean;
  isServiceEntry?: { hosts?: string[]; location?: string } | null;
  isGateway?: unknown;
  isOutOfMesh?: boolean;
  hasCB?: boolean;
  hasVS?: unknown;
  isInjected?: boolean;
  isBox?: string;
  /** meshview: why traffic came from the unknown source, requests per second per reason. */
  unknownReason?: Record<string, number | string>;
  [key: string]: unknown;
}

/** responses: code -> {flags: {flag: pct}, hosts: {host: pct}}; code 0 is "-". */
export type Responses = Record<string, { flags?: Record<string, string>; hosts?: Record<string, string> }>;

export interface EdgeTraffic {
  protocol: Protocol | string;
  rates?: Rates;
  responses?: Responses;
}

/** Milliseconds; the API sends them as strings, as Kiali sends its rates. */
export interface ResponseTimes {
  avg?: number | string;
  p50?: number | string;
  p95?: number | string;
  p99?: number | string;
}

export interface EdgeData {
  id: string;
  source: string;
  target: string;
  traffic?: EdgeTraffic;
  /** Kiali's single response time in ms (a string or number). */
  responseTime?: string | number;
  throughput?: string | number;
  /** Share of mTLS requests in percent, "100" when all are mutual TLS. */
  isMTLS?: string | number;
  sourcePrincipal?: string;
  destPrincipal?: string;
  healthStatus?: HealthStatus | string;
  /** meshview: which telemetry sources saw this edge. */
  telemetry?: string[];
  /** meshview: response time quantiles in ms. */
  responseTimes?: ResponseTimes;
  [key: string]: unknown;
}

export interface GraphJson {
  timestamp: number;
  duration: number;
  graphType: GraphType | string;
  elements: {
    nodes: { data: NodeData }[];
    edges: { data: EdgeData }[];
  };
  warnings?: string[];
}

export interface ElementDelta<T> {
  added?: { data: T }[];
  removed?: string[];
  changed?: { data: T }[];
}

export interface GraphDeltaMessage {
  type: 'graph.delta';
  timestamp: number;
  nodes?: ElementDelta<NodeData>;
  edges?: ElementDelta<EdgeData>;
}

export interface GraphSnapshotMessage {
  type: 'graph.snapshot';
  graph: GraphJson;
}

export type GraphLiveMessage = GraphSnapshotMessage | GraphDeltaMessage;
