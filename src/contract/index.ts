// The public surface of src/contract/: the HTTP contract shared by the client and the server halves.
export * from './http.js';
