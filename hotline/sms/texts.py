"""The words of each kind of message on each channel.

A message is queued with its full text (`body`, which may carry a link and a reply code) and,
for the kinds below, the parameters its other texts are made of (`Message.params`). At
delivery the outbox asks here for the text the channel and backend can carry:

- `sms`: `body`, or — when the backend forbids links and replies (SMS_PLAIN_TEXT, Alibaba
  Cloud, Twilio's China route) — the kind's plain text, which points to WeCom or the web;
- `voice`: the spoken text, ending with what the key press does;
- `wecom`: a text card (title, description, button) whose button opens a signed link;
- Alibaba Cloud: the kind's registered template code and its variables.

Every kind has a text without a URL: a registered kind its own, any other kind its `body`
with the links taken out (`strip_links`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

URL = re.compile(r"\s*https?://\S+")


def strip_links(text: str) -> str:
    """`text` without its URLs (and without the words that introduced them)."""
    text = URL.sub("", text)
    text = re.sub(r"(Details|详情)[:：]\s*$", "", text, flags=re.MULTILINE)
    return text.strip()


@dataclass(frozen=True)
class Card:
    title: str
    description: str
    url: str
    button: str


def _round_prefix(params: dict) -> str:
    round_ = int(params.get("round") or 1)
    tier = int(params.get("tier") or 1)
    # A repeated round never repeats an identical text (carriers refuse repeats).
    if round_ > 1 or tier > 1:
        return _("(alert %(n)s) ") % {"n": (tier - 1) + round_}
    return ""


def _escalation_plain(params: dict) -> str:
    return _round_prefix(params) + _(
        "Hotline Roster: crisis escalation on %(hotline)s, code %(code)s. Take it in WeCom or "
        "on the Hotline Roster site."
    ) % {"hotline": params.get("hotline", ""), "code": params.get("code", "")}


def _escalation_spoken(params: dict) -> str:
    return _(
        "Hotline Roster. A crisis escalation on %(hotline)s needs a supervisor now. "
        "Press 1 to take it."
    ) % {"hotline": params.get("hotline", "")}


def _escalation_card(params: dict) -> Card:
    return Card(
        title=_("Crisis escalation: %(hotline)s") % {"hotline": params.get("hotline", "")},
        description=_round_prefix(params)
        + _("Code %(code)s. Nobody has taken it yet.") % {"code": params.get("code", "")},
        url=params.get("action_link") or params.get("link", ""),
        button=_("Take it"),
    )


def _drop_plain(params: dict) -> str:
    return _(
        "Can you take a hotline shift? %(shift)s. Take it in WeCom or on the Hotline Roster site."
    ) % {"shift": params.get("shift", "")}


def _drop_card(params: dict) -> Card:
    return Card(
        title=_("Can you take a hotline shift?"),
        description=params.get("shift", ""),
        url=params.get("action_link") or params.get("link") or site_home(),
        button=_("Take it"),
    )


def _is_drop_ask(message) -> bool:
    return message.purpose == "swap" and bool((message.params or {}).get("drop"))


def _generic_spoken(message) -> str:
    return strip_links(message.body) + " " + _("Press 1 to confirm you heard this message.")


def _generic_card(message) -> Card:
    return Card(
        title=_("Hotline Roster"),
        description=strip_links(message.body),
        url=message.params.get("link") or site_home(),
        button=_("Open"),
    )


def site_home() -> str:
    from hotline.links import site_url

    return site_url("/")


def _with_language(message, build):
    with translation.override(message.language or settings.LANGUAGE_CODE):
        return build()


def sms_text(message, *, plain: bool) -> str:
    """The SMS text: `body`, or without links and replies when `plain`."""
    if not plain:
        return message.body
    if message.purpose == "escalation" and message.params:
        return _with_language(message, lambda: _escalation_plain(message.params))
    if _is_drop_ask(message):
        return _with_language(message, lambda: _drop_plain(message.params))
    return strip_links(message.body)


def spoken_text(message) -> str:
    if message.purpose == "escalation" and message.params:
        return _with_language(message, lambda: _escalation_spoken(message.params))
    return _with_language(message, lambda: _generic_spoken(message))


def card(message) -> Card:
    if message.purpose == "escalation" and message.params:
        return _with_language(message, lambda: _escalation_card(message.params))
    if _is_drop_ask(message):
        return _with_language(message, lambda: _drop_card(message.params))
    return _with_language(message, lambda: _generic_card(message))


# Alibaba Cloud SMS: each kind's template variables (the template codes are settings,
# ALIYUN_SMS_TEMPLATES; docs/channels.md has the text to register for each). A kind without
# its own template is sent with the `notice` template and its plain text as `text`
# (Alibaba Cloud caps a variable's length: it is cut at 35 characters).
TEMPLATE_VARIABLE_MAX = 35


def template_for(message) -> tuple[str, dict[str, str]]:
    """(template code, variables) of `message` for Alibaba Cloud. Raises KeyError when no
    template is configured for it."""
    templates = settings.ALIYUN_SMS_TEMPLATES
    kind = message.purpose
    if kind == "escalation" and message.params and templates.get("escalation"):
        return templates["escalation"], {
            "hotline": str(message.params.get("hotline", ""))[:TEMPLATE_VARIABLE_MAX],
            "code": str(message.params.get("code", "")),
        }
    if _is_drop_ask(message) and templates.get("swap"):
        return templates["swap"], {
            "shift": str(message.params.get("shift", ""))[:TEMPLATE_VARIABLE_MAX]
        }
    code = templates.get(kind) or templates.get("notice")
    if not code:
        raise KeyError(kind)
    text = sms_text(message, plain=True)
    return code, {"text": text[:TEMPLATE_VARIABLE_MAX]}
