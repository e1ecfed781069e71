# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One chat in Open WebUI through a real browser: Debian's headless Chromium and chromium-driver,
driven by Selenium, through the HTTPS front door.

``chat()`` opens ``https://HOST/``, signs in through Open WebUI's sign-in form, picks the model in
the chat box's model selector, types the prompt into the chat box, sends it, waits until the
streamed answer is complete on the page, saves a screenshot and returns the answer with timings.

The DOM it relies on (Open WebUI 0.12.4, ``src/routes/auth/+page.svelte``,
``src/lib/components/chat/MessageInput.svelte``, ``.../ModelSelector/Selector.svelte``,
``.../ModelSelector/ModelItem.svelte``, ``.../Messages/ResponseMessage.svelte``), by ids and classes,
never by translated text:

- sign-in form: ``input#email``, ``input#password``, its ``button[type=submit]``;
- chat box: ``#chat-input`` (a contenteditable editor), ``button#send-message-button``;
- model selector: ``button#model-selector-model-button``; its list ``#model-selector-list`` of
  ``[role=option][data-value=<model id>]`` (``aria-selected`` on the chosen one);
- each message is ``#message-<id>`` holding ``.chat-user`` or ``.chat-assistant``; an answer's text is
  in its ``#response-content-container``. "Done": ``ResponseMessage.svelte`` renders the answer's
  action buttons, ``button.copy-response-button`` among them, only inside ``{#if message.done}``, and
  the typing cursor (``span.animate-cursor-pulse``) only while ``!message.done``. ``message.done``
  is set when the stream's last chunk has arrived, so copy button present + cursor absent is the
  UI's own "answer complete" state. The text is also required to be unchanged over two polls.
  An error is drawn in the same place and also gets the buttons, so once done, Open WebUI's own
  record of that message (``GET /api/v1/chats/<id from the /c/<id> URL>`` with the page's token)
  must have ``done`` and no ``error``; an error toast (``[data-sonner-toast][data-type=error]``)
  fails the chat at once.

Run as a script for a quick look (the pytest is tests/browser/test_open_webui_browser.py):

    python tests/browser/open_webui_chat.py URL EMAIL PASSWORD_FILE MODEL PROMPT SCREENSHOT [--ca-file F | --insecure]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlsplit

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# Without the background-networking switches Chromium's own connections (updates, sync, field
# trials) are refused by the build machines' closed network and slow every page down.
CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--disable-default-apps", "--disable-extensions",
    "--lang=en-US", "--window-size=1280,800",
)

# One poll of the page: the last answer's state (see the module's docstring).
_ANSWER_STATE_JS = """
const answers = document.querySelectorAll('.chat-assistant');
const questions = document.querySelectorAll('.chat-user');
const out = {answers: answers.length, questions: questions.length,
             question: questions.length ? questions[questions.length - 1].innerText : null};
if (!answers.length) return out;
const message = answers[answers.length - 1].closest('[id^="message-"]');
const content = message ? message.querySelector('#response-content-container') : null;
out.id = message ? message.id : null;
out.text = content ? content.innerText.trim() : '';
out.done = !!(message && message.querySelector('button.copy-response-button'));
out.cursor = !!(message && message.querySelector('.animate-cursor-pulse'));
return out;
"""

# Error toasts (svelte-sonner marks each toast with data-type).
_ERROR_TOASTS_JS = """
return Array.from(document.querySelectorAll('[data-sonner-toast][data-type="error"]'))
  .map((t) => t.innerText.trim()).filter((t) => t);
"""

# The answer as Open WebUI itself keeps it: the chat (its id is in the page's /c/<id> URL) read
# through Open WebUI's API with the page's own token; arguments: the message's DOM id, callback.
_MESSAGE_RECORD_JS = """
const done = arguments[arguments.length - 1];
const chatId = (location.pathname.match(/\\/c\\/([^/]+)/) || [])[1];
const messageId = arguments[0].replace(/^message-/, '');
if (!chatId) { done({problem: 'no chat id in the URL ' + location.pathname}); return; }
fetch('/api/v1/chats/' + chatId, {headers: {Authorization: 'Bearer ' + localStorage.token}})
  .then((r) => r.ok ? r.json() : Promise.reject('GET /api/v1/chats/' + chatId + ': ' + r.status))
  .then((chat) => done({message: ((chat.chat || {}).history || {}).messages[messageId] || null}))
  .catch((e) => done({problem: String(e)}));
"""


class ChatError(AssertionError):
    """The browser could not complete the chat; the message says at which step and why."""


def _nss_home(ca_file: str, home: str) -> dict:
    """A fresh HOME whose NSS database (the store Chromium on Linux trusts besides its root store)
    holds ca_file as trusted for TLS servers; returns the environment for chromium-driver."""
    certutil = shutil.which("certutil")
    if not certutil:
        raise ChatError("certutil not found: the CA file needs Debian's libnss3-tools (tests/browser/run.sh installs it)")
    db = os.path.join(home, ".pki", "nssdb")
    os.makedirs(db)
    # "CP": trusted as an authority and as a peer, so both a CA and a self-signed server certificate (the front
    # door's default, basicConstraints CA:FALSE, which Chromium refuses as an authority alone) are trusted.
    for args in (["-N", "--empty-password"], ["-A", "-n", "llmops-test-ca", "-t", "CP,,", "-i", ca_file]):
        proc = subprocess.run([certutil, "-d", "sql:" + db, *args], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise ChatError("certutil %s failed: %s%s" % (args[0], proc.stdout, proc.stderr))
    return dict(os.environ, HOME=home)


def _driver(workdir: str, ca_file: str | None, insecure: bool):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            raise ChatError("%s missing: install Debian's chromium and chromium-driver (tests/browser/run.sh does)" % path)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument("--user-data-dir=" + os.path.join(workdir, "profile"))
    if insecure:
        options.add_argument("--ignore-certificate-errors")
    env = dict(os.environ, HOME=os.path.join(workdir, "home"))
    os.makedirs(env["HOME"], exist_ok=True)
    if ca_file:
        env = _nss_home(os.path.abspath(ca_file), env["HOME"])
    # Both paths given: Selenium Manager has nothing to look up and downloads nothing.
    env["SE_OFFLINE"] = "true"
    service = Service(executable_path=CHROMEDRIVER, env=env, log_output=os.path.join(workdir, "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    # A 1280x800 page: the window is made larger by whatever its frame takes.
    driver.set_window_size(1280, 800)
    inner = driver.execute_script("return [window.innerWidth, window.innerHeight];")
    driver.set_window_size(1280 + 1280 - inner[0], 800 + 800 - inner[1])
    return driver


def _wait(driver, timeout, what, condition, poll=0.1):
    """condition(driver) until truthy; ChatError naming what was awaited, with the page's URL."""
    end = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = condition(driver)
            if value:
                return value
        except ChatError:
            raise
        except Exception as exc:  # a stale or not-yet-rendered element: poll on
            last = str(exc).splitlines()[0] if str(exc).strip() else repr(exc)
        if time.monotonic() > end:
            raise ChatError("timed out after %.0f s waiting for %s (page %s, title %r)%s" % (
                timeout, what, driver.current_url, driver.title, "; last error: %s" % last if last else ""))
        time.sleep(poll)


def _displayed(driver, css):
    from selenium.webdriver.common.by import By

    for element in driver.find_elements(By.CSS_SELECTOR, css):
        if element.is_displayed() and element.is_enabled():
            return element
    return None


def _dismiss_modals(driver):
    """Close what Open WebUI shows an admin on a first visit (the "What's new" changelog)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    closed = 0
    for _ in range(3):
        modals = [m for m in driver.find_elements(By.CSS_SELECTOR, "div.modal") if m.is_displayed()]
        if not modals:
            return closed
        closed += 1
        buttons = [b for b in modals[-1].find_elements(By.CSS_SELECTOR, "button") if b.is_displayed()]
        if buttons:
            buttons[-1].click()  # the changelog's only footer button ("Okay, Let's Go!")
        else:
            driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
        time.sleep(0.5)
    return closed


def _click(driver, find, what, timeout):
    """Clicks find(driver)'s element; a modal that came up late (the changelog) and covers it is
    closed first, and the click tried again."""
    from selenium.common.exceptions import ElementClickInterceptedException

    for attempt in range(3):
        element = _wait(driver, timeout, what, find)
        try:
            element.click()
            return element
        except ElementClickInterceptedException:
            if attempt == 2:
                raise ChatError("%s stays covered by another element (a modal?)" % what)
            _dismiss_modals(driver)
            time.sleep(0.5)
    return None


def _sign_in(driver, base_url, email, password, timeout):
    from selenium.webdriver.common.by import By

    driver.get(base_url)
    if "privacy error" in driver.title.lower() or driver.find_elements(By.ID, "proceed-button"):
        raise ChatError("Chromium refused the front door's certificate at %s (title %r)" % (base_url, driver.title))
    _wait(driver, timeout, "the sign-in form (input#email) at %s" % base_url,
          lambda d: _displayed(d, "input#email"))
    driver.find_element(By.CSS_SELECTOR, "input#email").send_keys(email)
    driver.find_element(By.CSS_SELECTOR, "input#password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "#auth-page button[type=submit]").click()

    # Success is the chat box; refusal is an error toast (svelte-sonner's data-type="error") while the
    # sign-in form is still there. Any other toast ("You're now logged in.", a success toast shown
    # while the form is still on the page) is only a message: it is kept for a timeout's text.
    seen = []

    def signed_in(d):
        if _displayed(d, "#chat-input"):
            return True
        errors = [t for t in d.execute_script(_ERROR_TOASTS_JS) if t]
        if errors and _displayed(d, "input#password"):
            raise ChatError("sign-in refused for %s: %s" % (email, " | ".join(errors)))
        for toast in d.find_elements(By.CSS_SELECTOR, "[data-sonner-toast]"):
            text = toast.text.strip()
            if text and text not in seen:
                seen.append(text)
        return False

    try:
        _wait(driver, timeout, "the chat box (#chat-input) after signing in as %s" % email, signed_in)
    except ChatError as exc:
        if seen:
            raise ChatError("%s; messages shown: %s" % (exc, " | ".join(seen))) from None
        raise


def _pick_model(driver, model, timeout):
    """Opens the model selector; chooses the model when more than one is offered or it is not the
    chosen one. Returns the ids the selector offered."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    _click(driver, lambda d: _displayed(d, "#model-selector-model-button"),
           "the model selector (#model-selector-model-button)", timeout)
    _wait(driver, timeout, "the model list (#model-selector-list [role=option])",
          lambda d: d.find_elements(By.CSS_SELECTOR, "#model-selector-list [role=option][data-value]"))
    options = driver.find_elements(By.CSS_SELECTOR, "#model-selector-list [role=option][data-value]")
    offered = [o.get_attribute("data-value") for o in options]
    ours = [o for o in options if o.get_attribute("data-value") == model]
    if not ours:
        raise ChatError("model %s is not offered by Open WebUI's model selector; it offers %s" % (model, offered))
    if len(offered) > 1 or ours[0].get_attribute("aria-selected") != "true":
        ours[0].click()
    else:
        driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    _wait(driver, timeout, "the model list to close", lambda d: not d.find_elements(By.ID, "model-selector-list"))
    label = driver.find_element(By.CSS_SELECTOR, "#model-selector-model-button").text.strip()
    return offered, label


def _type_prompt(driver, prompt, timeout):
    from selenium.webdriver.common.by import By

    box = _click(driver, lambda d: _displayed(d, "#chat-input"), "the chat box (#chat-input)", timeout)
    box.send_keys(prompt)
    typed = lambda d: d.find_element(By.CSS_SELECTOR, "#chat-input").text.strip() == prompt.strip()  # noqa: E731
    try:
        _wait(driver, 3, "the prompt in the chat box", typed)
    except ChatError:
        # Key events for characters outside the keyboard map may be dropped: insert the text the
        # way an input method commits it instead.
        driver.execute_script("const e = document.querySelector('#chat-input'); e.focus();"
                              "document.execCommand('selectAll', false, null);")
        driver.execute_cdp_cmd("Input.insertText", {"text": prompt})
        _wait(driver, timeout, "the prompt %r in the chat box" % prompt, typed)
    _wait(driver, timeout, "an enabled send button (#send-message-button)",
          lambda d: _displayed(d, "#send-message-button"))


def chat(base_url, email, password, model, prompt, screenshot, ca_file=None, insecure=False, timeout=120.0):
    """Signs in at base_url (https://HOST[:PORT]/) as email, picks model, sends prompt and waits for
    the whole streamed answer. Saves a PNG screenshot (1280x800) to screenshot (a path; None for
    none). TLS: ca_file (a PEM CA certificate Chromium is made to trust) or insecure=True.

    Returns a dict: answer (the text on the page), model_label (the selector's label), models
    (the ids the selector offered), modals_closed (first-visit dialogs closed after signing in),
    partial_texts_seen (distinct unfinished answer texts the polls
    saw: 0 when the stream was faster than a poll), question (the prompt, checked to be on the page as the user's
    message), and seconds: sign_in (page load to the chat box), first_text (send to the first
    answer text on the page), complete (send to the answer marked done), idle (send to the chat
    box ready again, None if not within 30 s), total (browser start to the end).
    """
    if urlsplit(base_url).scheme != "https":
        raise ChatError("base_url must be https:// (the front door): %s" % base_url)
    if not ca_file and not insecure:
        raise ChatError("give ca_file (the front door's CA) or insecure=True")
    workdir = tempfile.mkdtemp(prefix="llmops-browser-")
    started = time.monotonic()
    driver = None
    seconds = {}
    try:
        driver = _driver(workdir, ca_file, insecure)
        driver.set_page_load_timeout(timeout)
        t = time.monotonic()
        _sign_in(driver, base_url, email, password, timeout)
        seconds["sign_in"] = time.monotonic() - t
        time.sleep(0.5)
        modals_closed = _dismiss_modals(driver)
        offered, label = _pick_model(driver, model, timeout)
        _type_prompt(driver, prompt, timeout)

        sent = time.monotonic()
        _click(driver, lambda d: _displayed(d, "#send-message-button"), "the send button (#send-message-button)",
               timeout)
        first = None
        previous = None
        partial = set()  # texts seen before the answer was done: the stream, as the page drew it

        def complete(d):
            nonlocal first, previous
            state = d.execute_script(_ANSWER_STATE_JS)
            if state.get("text") and not state.get("done"):
                partial.add(state["text"])
            errors = d.execute_script(_ERROR_TOASTS_JS)
            if errors:
                raise ChatError("Open WebUI shows an error after sending: %s" % " | ".join(errors))
            if state.get("text") and first is None:
                first = time.monotonic()
            finished = state.get("done") and not state.get("cursor") and state.get("text")
            if finished and previous == state["text"]:
                return state
            previous = state.get("text") if finished else None
            return None

        state = _wait(driver, timeout, "the answer to be complete (button.copy-response-button in the last "
                      ".chat-assistant message, no typing cursor)", complete, poll=0.05)
        done = time.monotonic()
        seconds.update(first_text=(first or done) - sent, complete=done - sent)
        # An error is drawn in the same place as an answer and also gets the action buttons: ask
        # Open WebUI's own record of the message whether it is one.
        driver.set_script_timeout(timeout)
        record = driver.execute_async_script(_MESSAGE_RECORD_JS, state["id"])
        if record.get("problem") or not record.get("message"):
            raise ChatError("Open WebUI's record of the answer (%s) could not be read: %s"
                            % (state["id"], record.get("problem") or "no such message"))
        message = record["message"]
        if message.get("error"):
            raise ChatError("Open WebUI answered with an error: %s" % json.dumps(message["error"], ensure_ascii=False))
        if not message.get("done"):
            raise ChatError("the page shows the answer as complete, Open WebUI's record does not: %s"
                            % json.dumps(message, ensure_ascii=False)[:500])
        if prompt.strip() not in (state.get("question") or ""):
            raise ChatError("the question %r is not on the page; the last user message reads %r"
                            % (prompt, state.get("question")))
        # After the answer, Open WebUI's server goes on with its background tasks (title, tags,
        # follow-up suggestions) and the chat box shows a stop button until they end; the voice
        # button (admin, empty chat box) is back once the chat is idle. Waited for the picture's
        # sake only: a UI that keeps it away still passes, with idle = null.
        try:
            _wait(driver, 30, "the chat to be idle (#voice-input-button or #send-message-button)",
                  lambda d: _displayed(d, "#voice-input-button") or _displayed(d, "#send-message-button"))
            seconds["idle"] = time.monotonic() - sent
        except ChatError:
            seconds["idle"] = None
        time.sleep(0.5)
        if screenshot:
            os.makedirs(os.path.dirname(os.path.abspath(screenshot)) or ".", exist_ok=True)
            if not driver.save_screenshot(screenshot):
                raise ChatError("the screenshot could not be written to %s" % screenshot)
        seconds["total"] = time.monotonic() - started
        return {"answer": state["text"], "question": prompt, "model_label": label, "models": offered,
                "partial_texts_seen": len(partial), "modals_closed": modals_closed,
                "seconds": {k: (round(v, 3) if v is not None else None) for k, v in seconds.items()}}
    except ChatError:
        if driver is not None and screenshot:
            try:
                driver.save_screenshot(os.path.splitext(screenshot)[0] + ".failed.png")
            except Exception:  # the browser may be gone: the error itself matters more
                pass
        raise
    finally:
        if driver is not None:
            driver.quit()
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv):
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("email")
    parser.add_argument("password_file")
    parser.add_argument("model")
    parser.add_argument("prompt")
    parser.add_argument("screenshot")
    tls = parser.add_mutually_exclusive_group(required=True)
    tls.add_argument("--ca-file")
    tls.add_argument("--insecure", action="store_true")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args(argv)
    with open(args.password_file, encoding="utf-8") as handle:
        password = handle.read().strip()
    result = chat(args.url, args.email, password, args.model, args.prompt, args.screenshot,
                  ca_file=args.ca_file, insecure=args.insecure, timeout=args.timeout)
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
