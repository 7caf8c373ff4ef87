// The one entry to @peculiar/x509. It resolves its algorithms through tsyringe, which needs the
// Reflect metadata polyfill loaded first; importing x509 from here guarantees that order.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

export { x509 };
