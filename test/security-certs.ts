/**
 * Test certificates made with the `openssl` command line: a CA, a server
 * certificate it signs for `localhost`/127.0.0.1, a client certificate with
 * a passphrase-protected key, and a second, unrelated CA. Tests that need
 * them skip themselves when `openssl` is not installed.
 *
 * @example
 * ```ts
 * const certs = hasOpenssl() ? makeTestCertificates() : undefined;
 * // certs.serverCert, certs.serverKey, certs.caFile, certs.otherCaFile, ...
 * certs?.dispose();
 * ```
 * @module
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Files of a test PKI (all PEM). */
export interface TestCertificates {
  dir: string;
  /** CA that signed the server and client certificates. */
  caFile: string;
  /** A CA that signed nothing here. */
  otherCaFile: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  /** Encrypted with {@link TestCertificates.clientKeyPassphrase}. */
  clientKey: string;
  clientKeyPassphrase: string;
  /** Removes the files. */
  dispose(): void;
}

/** Whether the `openssl` command is available. */
export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];

/** Creates a fresh test PKI in a temporary directory. */
export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'sje-test-pki-'));
  const passphrase = 'client-key-passphrase-0d5e';
  for (const ca of ['ca', 'other-ca']) {
    openssl(
      ['req', '-x509', ...EC, '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '2', '-subj', `/CN=sje-test-${ca}`],
      dir,
    );
  }
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl(['req', ...EC, '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.pem',
      '-days',
      '2',
      '-extfile',
      'server.ext',
    ],
    dir,
  );
  openssl(
    ['req', ...EC, '-passout', `pass:${passphrase}`, '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=sje-test-client'],
    dir,
  );
  openssl(
    ['x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.pem', '-days', '2'],
    dir,
  );
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    otherCaFile: join(dir, 'other-ca.pem'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.pem'),
    clientKey: join(dir, 'client.key'),
    clientKeyPassphrase: passphrase,
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
