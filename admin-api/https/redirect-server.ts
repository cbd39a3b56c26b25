import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

// The plain-HTTP port next to an HTTPS `api.port`: every request is answered with a permanent redirect (308, so
// the method and body are kept) to the same host name and path on https. Nothing is served, nothing is read.

/** A host name, an IPv4 address or a bracketed IPv6 address, with an optional port. */
const HOST_HEADER = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}))(?::\d{1,5})?$/;

/** Where `request` goes on https at `httpsPort`; null when its Host header is missing or malformed. */
export function httpsLocation(request: Pick<IncomingMessage, 'headers' | 'url'>, httpsPort: number): string | null {
  const host = HOST_HEADER.exec(request.headers.host ?? '')?.[1];
  if (!host) return null;
  let path = request.url ?? '/';
  if (!path.startsWith('/')) {
    // An absolute-form request line (`GET http://host/path`) or `OPTIONS *`: keep only the path.
    try {
      const url = new URL(path);
      path = url.pathname + url.search;
    } catch {
      path = '/';
    }
  }
  return `https://${host}${httpsPort === 443 ? '' : `:${httpsPort}`}${path}`;
}

export function redirectServer(httpsPort: () => number): Server {
  return createServer((request: IncomingMessage, response: ServerResponse) => {
    const location = httpsLocation(request, httpsPort());
    const headers = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', connection: 'close' };
    if (!location) {
      response.writeHead(400, headers).end('this port only redirects to https: the request needs a Host header naming the cabinet\n');
      return;
    }
    try {
      response.writeHead(308, { ...headers, location }).end(`this cabinet answers on ${location}\n`);
    } catch {
      // A path with bytes no header may carry.
      response.writeHead(400, headers).end('this port only redirects to https: the path cannot be redirected, type the https address\n');
    }
    // The request body (a form posted to http) is not read: the client sends it again to the https address.
    request.resume();
  });
}
