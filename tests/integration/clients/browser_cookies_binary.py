"""A browser-style client (a cookie jar, binary uploads) against HTTP triggers of a running runtimed.

python3 browser_cookies_binary.py BASE... where each BASE is a Function URL or an HTTP API
endpoint ending in "/" whose function is the integration test's `web` function:
  login  answers two cookies (the response's `cookies`, so two Set-Cookie headers);
  whoami answers the event's `cookies` as JSON;
  echo   answers the request body base64 with isBase64Encoded, as application/octet-stream.
Each BASE gets a fresh cookie jar. Exits 0 after every check passed ("ok").
"""
import http.cookiejar
import json
import sys
import urllib.request

# Every byte value, and bytes that are not UTF-8 in any order (0xff, a lone continuation byte).
BINARY = bytes(range(256)) + b"\xff\xfe\x80\x00binary\xc3\x28"

for base in sys.argv[1:]:
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    with browser.open(base + "login", timeout=30) as r:
        assert r.status == 200, (base, r.status)
        assert sorted(r.headers.get_all("Set-Cookie")) == [
            "session=abc123; Path=/; HttpOnly", "theme=dark; Path=/"], dict(r.headers)
    assert sorted(c.name + "=" + c.value for c in jar) == ["session=abc123", "theme=dark"], jar

    # The jar sends them back in one Cookie header; the event has them one by one.
    with browser.open(base + "whoami", timeout=30) as r:
        cookies = json.loads(r.read())
    assert sorted(cookies) == ["session=abc123", "theme=dark"], (base, cookies)

    upload = urllib.request.Request(base + "echo", data=BINARY, method="POST",
                                    headers={"Content-Type": "application/octet-stream"})
    with browser.open(upload, timeout=30) as r:
        assert r.status == 200, (base, r.status)
        assert r.headers["Content-Type"] == "application/octet-stream", dict(r.headers)
        echoed = r.read()
    assert echoed == BINARY, (base, len(echoed), echoed[:32])
print("ok")
