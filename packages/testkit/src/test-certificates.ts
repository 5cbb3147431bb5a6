import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Files of a throwaway certificate authority and a server certificate it signed (PEM). */
export interface TestCertificates {
  /** the CA that signed the server certificate: the right `sslrootcert` */
  caFile: string;
  /** another CA that signed nothing here: a wrong `sslrootcert` */
  otherCaFile: string;
  serverCertFile: string;
  serverKeyFile: string;
}

/**
 * Makes a test CA, a second unrelated CA, and a server certificate signed by the first whose subjectAltName lists
 * exactly `hosts` (DNS names or IP addresses) — so a client that checks host names accepts only those. P-256 keys,
 * valid two days, written into `dir` with the `openssl` command-line tool (Debian's openssl package).
 */
export async function createTestCertificates(dir: string, hosts: string[]): Promise<TestCertificates> {
  const file = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const [name, cn] of [['ca', 'mbsync test CA'], ['other-ca', 'mbsync unrelated test CA']] as const) {
    await run('openssl', ['req', '-x509', ...ec, '-keyout', file(`${name}.key`), '-out', file(`${name}.crt`), '-days', '2',
      '-subj', `/CN=${cn}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  }
  await run('openssl', ['req', '-new', ...ec, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', `/CN=${hosts[0] ?? 'localhost'}`]);
  const san = hosts.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  await writeFile(file('server.ext'), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n`);
  await run('openssl', ['x509', '-req', '-in', file('server.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial',
    '-out', file('server.crt'), '-days', '2', '-extfile', file('server.ext')]);
  return { caFile: file('ca.crt'), otherCaFile: file('other-ca.crt'), serverCertFile: file('server.crt'), serverKeyFile: file('server.key') };
}
