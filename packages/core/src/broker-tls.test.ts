/**
 * TLS to RabbitMQ: the socket options are built from the `amqp.tls` files,
 * and they really reach the TLS handshake. A local TLS server (not a broker)
 * plays the broker's listener, so no broker configuration changes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasOpenssl, makeTestCertificates, type TestCertificates } from '../../../test/security-certs.js';
import { amqpSocketOptions, Broker } from './broker.js';
import type { AmqpTlsConfig } from './config.js';
import { ConfigError } from './errors.js';
import { createLogger } from './logger.js';
import { createTopology } from './topology.js';

const NO_TLS: AmqpTlsConfig = { ca_file: '', cert_file: '', key_file: '', passphrase_env: '', servername: '', reject_unauthorized: true };

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe.skipIf(!hasOpenssl())('amqp TLS', () => {
  let certs: TestCertificates;
  let server: Server;
  let port: number;
  const peers: { authorized: boolean; subject: string | undefined }[] = [];

  beforeAll(async () => {
    certs = makeTestCertificates();
    server = createServer(
      {
        cert: readFileSync(certs.serverCert),
        key: readFileSync(certs.serverKey),
        ca: readFileSync(certs.caFile),
        requestCert: true,
        rejectUnauthorized: false,
      },
      (socket: TLSSocket) => {
        const cert = socket.getPeerCertificate();
        peers.push({ authorized: socket.authorized, subject: typeof cert.subject?.CN === 'string' ? cert.subject.CN : undefined });
        // Not a broker: drop the connection once the handshake is done.
        socket.destroy();
      },
    );
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    certs.dispose();
  });

  it('builds the socket options from the files, the passphrase from its variable, and the server name', () => {
    const tls: AmqpTlsConfig = {
      ca_file: certs.caFile,
      cert_file: certs.clientCert,
      key_file: certs.clientKey,
      passphrase_env: 'SJE_TEST_KEY_PASS',
      servername: 'mq.internal',
      reject_unauthorized: true,
    };
    const options = amqpSocketOptions('amqps://u:p@mq:5671', tls, { SJE_TEST_KEY_PASS: certs.clientKeyPassphrase });
    expect(options).toEqual({
      ca: [readFileSync(certs.caFile)],
      cert: readFileSync(certs.clientCert),
      key: readFileSync(certs.clientKey),
      passphrase: certs.clientKeyPassphrase,
      servername: 'mq.internal',
      rejectUnauthorized: true,
    });
    expect(amqpSocketOptions('amqps://u:p@mq:5671', NO_TLS)).toEqual({ rejectUnauthorized: true });
    expect(amqpSocketOptions('amqp://u:p@mq:5672', NO_TLS)).toEqual({});
  });

  it('is a ConfigError naming the key for a missing file, an unset passphrase, half a client certificate, or TLS files on amqp://', () => {
    const missing = configError(() => amqpSocketOptions('amqps://mq', { ...NO_TLS, ca_file: join(certs.dir, 'missing.pem') }));
    expect(missing.message).toContain('amqp.tls.ca_file');
    expect(missing.message).toContain('missing.pem');
    expect(
      configError(() => amqpSocketOptions('amqps://mq', { ...NO_TLS, cert_file: certs.clientCert, key_file: join(certs.dir, 'nope.key') }))
        .message,
    ).toContain('amqp.tls.key_file');
    expect(configError(() => amqpSocketOptions('amqps://mq', { ...NO_TLS, cert_file: certs.clientCert })).message).toContain(
      'amqp.tls.key_file',
    );
    expect(configError(() => amqpSocketOptions('amqps://mq', { ...NO_TLS, passphrase_env: 'SJE_TEST_UNSET_PASS' }, {})).message).toContain(
      'SJE_TEST_UNSET_PASS',
    );
    expect(configError(() => amqpSocketOptions('amqp://mq', { ...NO_TLS, ca_file: certs.caFile })).message).toContain(
      'not an amqps:// URL',
    );
  });

  function broker(tls: AmqpTlsConfig, env: NodeJS.ProcessEnv = {}): Broker {
    const url = `amqps://guest:tls-test-password@127.0.0.1:${port}`;
    return new Broker({
      url,
      topology: createTopology({ prefix: 'tls-test' }),
      logger: createLogger({ service: 'test', silent: true }),
      service: 'test',
      reconnectInitialMs: 50,
      reconnectMaxMs: 200,
      socketOptions: amqpSocketOptions(url, tls, env),
    });
  }

  it('fails with a clear error when the broker certificate does not verify against the configured CA', async () => {
    const b = broker({ ...NO_TLS, ca_file: certs.otherCaFile, servername: 'localhost' });
    try {
      const err = await b.start(1500).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err?.message).toMatch(/no connection to the broker within 1500 ms \(last error: TLS: the broker certificate was not accepted/);
      expect(err?.message).toContain('amqp.tls.ca_file');
      expect(err?.message).not.toContain('tls-test-password');
    } finally {
      await b.close();
    }
  });

  it('presents the client certificate, with its encrypted key, to a broker the CA vouches for', async () => {
    peers.length = 0;
    const b = broker(
      {
        ...NO_TLS,
        ca_file: certs.caFile,
        cert_file: certs.clientCert,
        key_file: certs.clientKey,
        passphrase_env: 'KEY_PASS',
        servername: 'localhost',
      },
      { KEY_PASS: certs.clientKeyPassphrase },
    );
    try {
      // The handshake succeeds; the AMQP one cannot (this is no broker), so start() gives up.
      await expect(b.start(1000)).rejects.toThrow(/no connection to the broker/);
      expect(peers.length).toBeGreaterThan(0);
      expect(peers[0]).toEqual({ authorized: true, subject: 'sje-test-client' });
    } finally {
      await b.close();
    }
  });
});
