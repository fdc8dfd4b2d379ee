import { generate } from 'selfsigned'

/** A PEM certificate and its private key. */
export interface Pem {
  cert: string
  key: string
}

export interface TestPki {
  ca: Pem
  /** For 127.0.0.1, ::1 and localhost, signed by `ca`. */
  server: Pem
  /** For TLS client authentication, signed by `ca`. */
  client: Pem
}

const EC = { keyType: 'ec', curve: 'P-256', algorithm: 'sha256' } as const

/** A self-signed CA (EC P-256). */
export async function makeCa (name: string): Promise<Pem> {
  const ca = await generate([{ name: 'commonName', value: name }], {
    ...EC,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true }
    ]
  })
  return { cert: ca.cert, key: ca.private }
}

/** A CA, a server certificate for loopback and a client certificate, all fresh. */
export async function makeTestPki (): Promise<TestPki> {
  const ca = await makeCa('mirnet test CA')
  const server = await generate([{ name: 'commonName', value: 'localhost' }], {
    ...EC,
    ca,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] }
    ]
  })
  return { ca, server: { cert: server.cert, key: server.private }, client: await makeClientCert(ca, 'mirnet test client') }
}

/** A client certificate signed by `ca`. */
export async function makeClientCert (ca: Pem, name: string): Promise<Pem> {
  const client = await generate([{ name: 'commonName', value: name }], {
    ...EC,
    ca,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', clientAuth: true }
    ]
  })
  return { cert: client.cert, key: client.private }
}
