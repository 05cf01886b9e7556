// Service colours: each service keeps the colour it was first given for the whole session. The
// pages seed the registry with the server's service list (sorted) before they draw, so a service
// has the same colour in the search results and on the trace page whichever opens first.

export const SERVICE_PALETTE = [
  '#17b8be', '#f8dca1', '#b7885e', '#ffcb99', '#f89570', '#829ae3', '#e79fd5', '#1e96be',
  '#89dac1', '#b3ad9e', '#12939a', '#ddb27c', '#88572c', '#ff9833', '#ef5d28', '#162a65',
  '#da70bf', '#125c77', '#4dc19c', '#776e57',
];

export class ServiceColors {
  private readonly assigned = new Map<string, string>();

  constructor(private readonly palette: string[] = SERVICE_PALETTE) {}

  /** Give the services not coloured yet their colours in name order. */
  seed(services: string[]): void {
    for (const service of [...services].sort()) this.get(service);
  }

  get(service: string): string {
    let color = this.assigned.get(service);
    if (!color) {
      color = this.palette[this.assigned.size % this.palette.length];
      this.assigned.set(service, color);
    }
    return color;
  }
}

/** The app's shared registry. */
export const serviceColors = new ServiceColors();
