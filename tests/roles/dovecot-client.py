"""Mail clients for tests/roles/dovecot.test.ts, run inside the test's network namespace.
Each sub-command prints one JSON result; `controllers` runs fake Rspamd controllers."""
import base64
import http.server
import imaplib
import json
import re
import smtplib
import socket
import ssl
import sys
import threading
import time


OUT = threading.Lock()


def out(value):
    # One whole line at a time: the fake controllers answer from several threads.
    with OUT:
        sys.stdout.write(json.dumps(value) + "\n")
        sys.stdout.flush()


def tls_context(cafile):
    return ssl.create_default_context(cafile=cafile)


def lmtp(sock, rcpt, subject, spam="no", size="0"):
    headers = f"From: sender@partner.example\r\nTo: {rcpt}\r\nSubject: {subject}\r\n"
    if spam == "yes":
        headers += "X-Spam: Yes\r\n"
    body = "hello\r\n" + "x" * int(size) + "\r\n"
    send_and_report(smtplib.LMTP(sock), "sender@partner.example", rcpt, headers + "\r\n" + body)


def send_and_report(client, sender, rcpt, message):
    """Sends one message on an open session and prints the server's verdict (code and text)."""
    try:
        client.sendmail(sender, [rcpt], message.encode())
        out({"code": 250})
    except smtplib.SMTPSenderRefused as e:
        out({"code": e.smtp_code, "message": e.smtp_error.decode()})
    except smtplib.SMTPRecipientsRefused as e:
        code, msg = e.recipients[rcpt]
        out({"code": code, "message": msg.decode()})
    except smtplib.SMTPDataError as e:
        out({"code": e.smtp_code, "message": e.smtp_error.decode()})
    finally:
        client.close()


def lmtp_tls(host, port, fqdn, cafile, rcpt, subject):
    """LMTP over TCP with STARTTLS verified against the CA, as smtp-in and smtp-out deliver; timed."""
    started = time.monotonic()
    client = smtplib.LMTP(host, int(port))
    try:
        client.ehlo_or_helo_if_needed()
        client._host = fqdn  # the name the certificate is checked against
        client.starttls(context=tls_context(cafile))
        message = f"From: sender@partner.example\r\nTo: {rcpt}\r\nSubject: {subject}\r\n\r\nhello\r\n"
        client.sendmail("sender@partner.example", [rcpt], message.encode())
        out({"code": 250, "seconds": time.monotonic() - started})
    finally:
        client.close()


def imaps(host, port, fqdn, cafile):
    """IMAPS that verifies the server certificate for fqdn against the platform CA."""
    class Client(imaplib.IMAP4_SSL):
        def _create_socket(self, timeout):
            raw = socket.create_connection((host, int(port)), timeout)
            return self.ssl_context.wrap_socket(raw, server_hostname=fqdn)
    return Client(host, int(port), ssl_context=tls_context(cafile))


def subjects(im, box):
    typ, _ = im.select(f'"{box}"')
    if typ != "OK":
        return None
    _, data = im.uid("SEARCH", None, "ALL")
    found = []
    for uid in data[0].split():
        _, msg = im.uid("FETCH", uid, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        found.append(msg[0][1].decode().split(":", 1)[1].strip())
    return found


def imap_list(host, port, fqdn, cafile, user, password, *boxes):
    im = imaps(host, port, fqdn, cafile)
    im.login(user, password)
    _, listing = im.list()
    names = [re.sub(r'^\(.*?\) "/" ', "", line.decode()).strip('"') for line in listing]
    out({"mailboxes": names, "content": {box: subjects(im, box) for box in boxes}})
    im.logout()


def imap_search(host, port, fqdn, cafile, user, password, box, text):
    """A user's body search, as a mail client sends it (Dovecot answers it from the FTS index)."""
    im = imaps(host, port, fqdn, cafile)
    im.login(user, password)
    im.select(f'"{box}"')
    _, data = im.uid("SEARCH", None, "BODY", f'"{text}"')
    out({"uids": data[0].decode().split()})
    im.logout()


def imap_move(host, port, fqdn, cafile, user, password, source, subject, target):
    im = imaps(host, port, fqdn, cafile)
    im.login(user, password)
    im.select(f'"{source}"')
    _, data = im.uid("SEARCH", None, "SUBJECT", f'"{subject}"')
    uid = data[0].split()[0].decode()
    typ, _ = im.uid("MOVE", uid, f'"{target}"')
    out({"moved": typ})
    im.logout()


def policy(source, host, port, *rcpt_sizes):
    """Postfix's policy protocol, as smtp-in asks quota-status: one request per RECIPIENT:SIZE on one
    connection; prints each answer's action."""
    conn = socket.create_connection((host, int(port)), 10, source_address=(source, 0))
    reader = conn.makefile("r")
    actions = []
    for item in rcpt_sizes:
        rcpt, size = item.rsplit(":", 1)
        conn.sendall(("request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
                      f"sender=sender@partner.example\nrecipient={rcpt}\nsize={size}\n\n").encode())
        answer = {}
        for line in reader:
            if line == "\n":
                break
            key, _, value = line.rstrip("\n").partition("=")
            answer[key] = value
        actions.append(answer.get("action"))
    conn.close()
    out({"actions": actions})


def plain_login(source, host, port, user, password):
    """IMAP on the STARTTLS port from a non-local address: must not take a password in clear."""
    class Client(imaplib.IMAP4):
        def _create_socket(self, timeout):
            return socket.create_connection((host, int(port)), timeout, source_address=(source, 0))
    im = Client(host, int(port))
    caps = list(im.capabilities)
    try:
        im.login(user, password)
        result = "ok"
    except imaplib.IMAP4.error as e:
        result = str(e)
    out({"capabilities": caps, "login": result})


def proxied_login(source, host, port, claimed, fqdn, cafile, user, password):
    """IMAPS behind a frontend: PROXY v1 header first, then TLS."""
    class Client(imaplib.IMAP4_SSL):
        def _create_socket(self, timeout):
            raw = socket.create_connection((host, int(port)), timeout, source_address=(source, 0))
            raw.sendall(f"PROXY TCP4 {claimed} {host} 40000 993\r\n".encode())
            return self.ssl_context.wrap_socket(raw, server_hostname=fqdn)
    try:
        im = Client(host, int(port), ssl_context=tls_context(cafile))
        im.login(user, password)
        im.logout()
        out({"login": "ok"})
    except (OSError, imaplib.IMAP4.error) as e:
        out({"login": f"failed: {e!r}"})


def managesieve(host, port, fqdn, cafile, user, password, name, path):
    """ManageSieve (RFC 5804): STARTTLS, AUTHENTICATE PLAIN, PUTSCRIPT, SETACTIVE."""
    sock = socket.create_connection((host, int(port)), 10)
    reader = sock.makefile("rb")

    def response():
        lines = []
        while True:
            line = reader.readline().decode().rstrip("\r\n")
            lines.append(line)
            if re.match(r'^(OK|NO|BYE)\b', line):
                return lines

    def command(text):
        sock.sendall(text.encode())
        return response()

    response()
    command("STARTTLS\r\n")
    sock = tls_context(cafile).wrap_socket(sock, server_hostname=fqdn)
    reader = sock.makefile("rb")
    response()
    token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
    results = [command(f'AUTHENTICATE "PLAIN" "{token}"\r\n')[-1]]
    script = open(path, "rb").read().decode()
    results.append(command(f'PUTSCRIPT "{name}" {{{len(script.encode())}+}}\r\n{script}\r\n')[-1])
    results.append(command(f'SETACTIVE "{name}"\r\n')[-1])
    command("LOGOUT\r\n")
    out({"results": results})


def sasl(path, user, password):
    """Postfix's side of the Dovecot auth protocol: PLAIN from a remote client over TLS."""
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(path)
    reader = sock.makefile("rb")
    response = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
    fields = ["service=smtp", "nologin", "rip=198.51.100.7", "lip=10.0.0.1", "secured"]
    sock.sendall(f"VERSION\t1\t2\nCPID\t{threading.get_native_id()}\nAUTH\t1\tPLAIN\t{chr(9).join(fields)}\tresp={response}\n".encode())
    while True:
        line = reader.readline().decode().rstrip("\n")
        if line.startswith(("OK\t1", "FAIL\t1")):
            out({"result": line.split("\t")[0], "fields": line.split("\t")[2:]})
            return


def controllers(port, certdir, *addresses):
    """Fake Rspamd controllers behind TLS (certdir/<address>.crt and .key): one JSON line per learn request."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            out({"controller": self.server.server_address[0], "path": self.path,
                 "password": self.headers.get("Password"), "subject": re.search(rb"Subject: (.*)\r\n", body).group(1).decode()})
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"success":true}')

        def log_message(self, *args):
            pass

    for address in addresses:
        server = http.server.HTTPServer((address, int(port)), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(f"{certdir}/{address}.crt", f"{certdir}/{address}.key")
        server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    threading.Event().wait()


def submit(fqdn, port, cafile, user, password, envelope, header_from, rcpt):
    """Submission with STARTTLS (verified for the name) and AUTH; the final reply to the message."""
    message = f"From: {header_from}\r\nTo: {rcpt}\r\nSubject: submission test\r\n\r\nhello\r\n"
    client = smtplib.SMTP(fqdn, int(port), local_hostname="client.test")
    client.starttls(context=tls_context(cafile))
    client.login(user, password)
    send_and_report(client, envelope, rcpt, message)


if __name__ == "__main__":
    globals()[sys.argv[1].replace("-", "_")](*sys.argv[2:])
