"""The admin page (`/ui` on the admin listener, gateway/src/admin/ui.html) driven in a real
headless Chromium through Selenium, against the real gateway with an SQLite store: log in (a
wrong token first), see the config file's key as read-only, make a key and see its secret once,
edit its limits, send traffic with it, see that traffic in Spend, revoke it (its next request is
a 401), and look at Routes and Config. Each step leaves a screenshot in
target/artifacts/admin-ui/.

Needs Debian's `chromium` and `chromium-driver` (/usr/bin/chromium, /usr/bin/chromedriver):
without them the test is skipped, or fails under CI=true.

`ADMIN_UI_STUB=/path/to/stub_admin.py` runs the same steps against a stand-in of the admin API
instead of the gateway (for work on the page alone); the default is the real binary.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, Gateway, free_port, sluice_bin

ADMIN_TOKEN = "test-admin-token-0123456789"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = ROOT / "target" / "artifacts" / "admin-ui"
WAIT = 10

CONFIG = """\
name: sluice
config:
  adminAddr: 127.0.0.1:{admin}
  adminToken: {token}
  store:
    url: sqlite://{db}
    flushInterval: 200ms
listeners:
  - name: http
    bind: 127.0.0.1:{listener}
    auth:
      keys:
        - name: from-config
          key: sk-config-key
    routes:
      - name: chat
        match: {{pathPrefix: /}}
        backend: mock
backends:
  - name: mock
    provider: mock
"""

try:
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException, NoSuchElementException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:  # pragma: no cover
    webdriver = None


def _need_browser() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).is_file()]
    if webdriver is None:
        missing.append("the selenium package (tests/python/requirements.txt)")
    if not missing:
        return
    message = f"the admin page test needs {', '.join(missing)} (apt-get install -y chromium chromium-driver)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


class Stub:
    """The admin API stand-in (ADMIN_UI_STUB), with the gateway's `admin`/`listener`/`close`."""

    def __init__(self, script: str, listener: int, admin: int):
        self.listener, self.admin = listener, admin
        self.proc = subprocess.Popen(
            [sys.executable, script, "--admin", str(admin), "--listener", str(listener), "--token", ADMIN_TOKEN,
             "--ui", str(ROOT / "gateway" / "src" / "admin" / "ui.html"), "--seed"])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{admin}/readyz", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the admin stub did not start")

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture(scope="module")
def server():
    _need_browser()
    listener, admin = free_port(), free_port()
    stub = os.environ.get("ADMIN_UI_STUB")
    with tempfile.TemporaryDirectory(prefix="sluice-ui-") as tmp:
        if stub:
            srv = Stub(stub, listener, admin)
        else:
            config = CONFIG.format(admin=admin, listener=listener, token=ADMIN_TOKEN, db=Path(tmp) / "sluice.db")
            srv = Gateway(sluice_bin(), config, {}, listener, admin)
        try:
            yield srv
        finally:
            srv.close()


@pytest.fixture(scope="module")
def driver():
    _need_browser()
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        opts.add_argument(arg)
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield d
    finally:
        d.quit()


def admin_get(srv, path: str) -> bytes:
    req = urllib.request.Request(f"http://127.0.0.1:{srv.admin}{path}",
                                 headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.read()


def chat(srv, key: str) -> int:
    body = json.dumps({"model": "mock", "messages": [{"role": "user", "content": "hi"}]}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{srv.listener}/v1/chat/completions", data=body, method="POST",
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


class Shots:
    def __init__(self, d):
        self.d, self.n = d, 0
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for old in ARTIFACTS.glob("*.png"):
            old.unlink()

    def __call__(self, name: str) -> None:
        self.n += 1
        self.d.save_screenshot(str(ARTIFACTS / f"{self.n:02d}-{name}.png"))


# Reads a table row's cells in one script, so a re-render in between cannot leave a stale
# element: {"id", "title" (the name cell's bold text), "<last class of each td>": text,
# "buttons": [first class of each button], "badges": [badge class lists]}.
ROWS_JS = """
return [...document.querySelectorAll(arguments[0])].map((row) => {
  const out = {id: row.dataset.keyId || row.dataset.group || null,
               buttons: [...row.querySelectorAll('button')].map((b) => b.classList[0]),
               badges: [...row.querySelectorAll('.badge')].map((b) => b.className)};
  const title = row.querySelector('td strong');
  out.title = title ? title.innerText.trim() : null;
  for (const td of row.querySelectorAll('td[class]')) out[td.classList[td.classList.length - 1]] = td.innerText.trim();
  return out;
});
"""


def rows(d, selector: str) -> list[dict]:
    return d.execute_script(ROWS_JS, selector)


def key_rows(d) -> list[dict]:
    return rows(d, "#keys-table tbody tr[data-key-id]")


def key_named(d, name: str):
    return next((r for r in key_rows(d) if r["title"] == name), None)


def key_by_id(d, key_id: str):
    return next((r for r in key_rows(d) if r["id"] == key_id), None)


def click(d, selector: str) -> bool:
    d.find_element(By.CSS_SELECTOR, selector).click()
    return True


def number(text: str) -> int:
    return int(text.replace(",", ""))


def test_admin_page(server, driver):
    d = driver
    wait = WebDriverWait(d, WAIT, ignored_exceptions=(StaleElementReferenceException, NoSuchElementException))
    shot = Shots(d)

    # The login form, with nothing kept from before.
    d.get(f"http://127.0.0.1:{server.admin}/ui")
    d.execute_script("sessionStorage.clear()")
    d.refresh()
    token = wait.until(EC.visibility_of_element_located((By.ID, "token")))
    shot("login")

    # A wrong token is refused and the form stays.
    token.send_keys("not-the-admin-token")
    d.find_element(By.ID, "login").click()
    error = wait.until(lambda d: d.find_element(By.ID, "login-error").is_displayed()
                       and d.find_element(By.ID, "login-error").text)
    assert "401" in error or "wrong" in error.lower(), error
    assert not d.find_element(By.ID, "app").is_displayed()
    assert d.execute_script("return sessionStorage.getItem('sluice.adminToken')") is None
    shot("login-wrong-token")

    # The right one opens the keys; the config file's key is listed, read-only, with no buttons.
    token.clear()
    token.send_keys(ADMIN_TOKEN)
    d.find_element(By.ID, "login").click()
    wait.until(EC.visibility_of_element_located((By.ID, "keys-table")))
    assert d.execute_script("return sessionStorage.getItem('sluice.adminToken')") == ADMIN_TOKEN
    config_key = wait.until(lambda d: key_named(d, "from-config"))
    assert "badge readonly" in config_key["badges"], config_key
    assert config_key["actions"] == "read-only"
    assert config_key["source"] == "config"
    assert config_key["buttons"] == []
    shot("keys")

    # Make a key; its secret is shown once.
    d.find_element(By.ID, "new-key-name").send_keys("ci-bot")
    d.find_element(By.ID, "new-key-team").send_keys("platform")
    d.find_element(By.ID, "new-key-rpm").send_keys("60")
    d.find_element(By.ID, "new-key-budget-usd").send_keys("5")
    Select(d.find_element(By.ID, "new-key-budget-window")).select_by_value("1d")
    d.find_element(By.ID, "new-key-submit").click()
    secret_input = wait.until(EC.visibility_of_element_located((By.ID, "new-key-secret")))
    secret = secret_input.get_attribute("value") or secret_input.text
    assert secret.startswith("sk-sluice-"), secret
    d.find_element(By.ID, "new-key-copy").click()
    wait.until(lambda d: d.find_element(By.ID, "new-key-copy").text == "Copied")
    assert "not be shown again" in d.find_element(By.ID, "new-key-secret-box").text
    ci = wait.until(lambda d: key_named(d, "ci-bot"))
    key_id = ci["id"]
    assert ci["team"] == "platform"
    assert "60 req/min" in ci["limits"]
    assert ci["budget"] == "$5.00 / 1d"
    assert ci["state"] == "active"
    assert ci["source"] == "store"
    assert secret.startswith(ci["prefix"].rstrip("…")), ci["prefix"]
    assert {"revoke", "edit"} <= set(ci["buttons"])
    shot("key-created")

    # Dismissed, the secret is gone from the page; the API never shows it.
    d.find_element(By.ID, "new-key-dismiss").click()
    wait.until(lambda d: not d.find_elements(By.ID, "new-key-secret"))
    assert secret not in d.page_source
    assert secret not in d.execute_script("return document.documentElement.outerHTML")
    assert secret.encode() not in admin_get(server, "/admin/keys")
    shot("secret-dismissed")

    # Edit the key's limits and budget inline.
    wait.until(lambda d: click(d, f'#keys-table tr[data-key-id="{key_id}"] button.edit'))
    form = wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, f'tr.edit-row[data-edit-for="{key_id}"]')))
    rpm = form.find_element(By.CSS_SELECTOR, "input.edit-rpm")
    assert rpm.get_attribute("value") == "60"
    rpm.clear()
    rpm.send_keys("120")
    form.find_element(By.CSS_SELECTOR, "input.edit-tpm").send_keys("50000")
    usd = form.find_element(By.CSS_SELECTOR, "input.edit-budget-usd")
    usd.clear()
    usd.send_keys("10")
    Select(form.find_element(By.CSS_SELECTOR, "select.edit-budget-window")).select_by_value("7d")
    shot("key-edit")
    form.find_element(By.CSS_SELECTOR, "button.save").click()
    ci = wait.until(lambda d: (r := key_by_id(d, key_id)) and "120 req/min" in r["limits"] and r)
    assert "50,000 tok/min" in ci["limits"]
    assert ci["budget"] == "$10.00 / 7d"
    wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "tr.edit-row"))
    stored = next(k for k in json.loads(admin_get(server, "/admin/keys"))["keys"] if k["id"] == key_id)
    assert stored["limits"] == {"requestsPerMinute": 120, "tokensPerMinute": 50000}
    assert stored["budget"]["usd"] == 10 and stored["budget"]["window"] == "7d"
    shot("key-edited")

    # Traffic with the key (a store key: in force on the listener within the store's refresh).
    deadline = time.monotonic() + 5
    while (status := chat(server, secret)) == 401 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert status == 200
    for _ in range(2):
        assert chat(server, secret) == 200

    # Spend, by key over the last day: the key's three requests.
    d.find_element(By.ID, "tab-spend").click()
    wait.until(EC.visibility_of_element_located((By.ID, "spend-table")))
    Select(d.find_element(By.ID, "spend-period")).select_by_value("day")
    Select(d.find_element(By.ID, "spend-group")).select_by_value("key")
    Select(d.find_element(By.ID, "spend-metric")).select_by_value("requests")

    def key_spent(d):
        mine = rows(d, f'#spend-table tbody tr[data-group="{key_id}"]')
        if mine and mine[0]["requests"] == "3":
            return {**mine[0], "bars": len(d.find_elements(By.CSS_SELECTOR, "#spend-chart svg rect")),
                    "legend": d.find_element(By.CSS_SELECTOR, "#spend-chart .legend").text}
        d.find_element(By.ID, "spend-refresh").click()
        return False

    spent = WebDriverWait(d, 10, poll_frequency=0.5,
                          ignored_exceptions=(StaleElementReferenceException, NoSuchElementException)).until(key_spent)
    assert "ci-bot" in spent["group"]
    assert number(spent["input-tokens"]) > 0
    assert number(spent["output-tokens"]) > 0
    assert spent["usd"].startswith("$")
    assert spent["bars"] > 0, "no bars in the chart"
    assert "ci-bot" in spent["legend"]
    shot("spend")

    # Revoke: the key's next request is a 401 (within the store's refresh).
    d.find_element(By.ID, "tab-keys").click()
    wait.until(lambda d: click(d, f'#keys-table tr[data-key-id="{key_id}"] button.revoke'))
    ci = wait.until(lambda d: (r := key_by_id(d, key_id)) and r["state"] == "disabled" and r)
    assert "enable" in ci["buttons"] and "revoke" not in ci["buttons"]
    deadline = time.monotonic() + 3
    while (status := chat(server, secret)) != 401 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert status == 401
    shot("key-revoked")

    # Routes: the listener, its route, the mock backend and the recent requests.
    d.find_element(By.ID, "tab-routes").click()
    route = wait.until(lambda d: d.execute_script("""
        const card = document.querySelector('#routes [data-listener="http"] [data-route="chat"]');
        return card && {backends: [...card.querySelectorAll('[data-backend]')].map((b) => b.dataset.backend),
                        requests: card.querySelector('.recent-requests').innerText,
                        rate: card.querySelector('.error-rate').innerText};"""))
    assert route["backends"] == ["mock"]
    assert number(route["requests"]) >= 3
    assert route["rate"].endswith("%")
    shot("routes")

    # Config: the running config, secrets redacted.
    d.find_element(By.ID, "tab-config").click()
    text = wait.until(lambda d: (t := d.find_element(By.ID, "config").text).strip().startswith("{") and t)
    assert json.loads(text)["listeners"][0]["name"] == "http"
    assert "<redacted>" in text
    assert ADMIN_TOKEN not in text and "sk-config-key" not in text
    shot("config")

    # No script error on the way (failed requests, such as the 401s above, are not counted).
    errors = [e for e in d.get_log("browser") if e["level"] == "SEVERE" and e.get("source") != "network"]
    assert not errors, errors

    # A token refused mid-session (here: swapped for a wrong one in the page) sends the page
    # back to the login form, forgetting it and what was shown.
    d.execute_script("token = 'stale-token-0123456789'")
    d.find_element(By.ID, "config-refresh").click()
    wait.until(lambda d: d.find_element(By.ID, "login-error").is_displayed())
    assert not d.find_element(By.ID, "app").is_displayed()
    assert d.execute_script("return sessionStorage.getItem('sluice.adminToken')") is None
    assert d.execute_script("return document.getElementById('config').textContent") == ""
    assert d.execute_script("return document.querySelectorAll('#keys-table tbody tr').length") == 0

    # So does a refused token kept in the session at load.
    d.execute_script("sessionStorage.setItem('sluice.adminToken', 'stale-token-0123456789')")
    d.refresh()
    wait.until(lambda d: d.find_element(By.ID, "login-error").is_displayed()
               and d.execute_script("return sessionStorage.getItem('sluice.adminToken')") is None)

    # Log in again and out: the token is forgotten.
    wait.until(lambda d: d.find_element(By.ID, "token").send_keys(ADMIN_TOKEN) or True)
    d.find_element(By.ID, "login").click()
    wait.until(EC.element_to_be_clickable((By.ID, "logout"))).click()
    wait.until(EC.visibility_of_element_located((By.ID, "token")))
    assert d.execute_script("return sessionStorage.getItem('sluice.adminToken')") is None
    shot("logged-out")
