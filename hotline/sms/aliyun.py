"""Alibaba Cloud SMS (阿里云短信服务), the in-country SMS backend (SMS_BACKEND=aliyun), through
the official SDK `alibabacloud-dysmsapi20170525`.

Mainland carriers accept only registered templates under a registered sign name: each kind
of message maps to a template code and its variables (hotline/sms/texts.py `template_for`,
codes in ALIYUN_SMS_TEMPLATES; docs/channels.md has the texts to register). No links, no
replies: what needs a link or a reply goes through WeCom or the web.

The endpoint is a setting (ALIYUN_SMS_ENDPOINT, `host[:port]`; `http://host:port` for a
local fake in tests and black-box checks), like every provider's base URL.
"""

from __future__ import annotations

import json
import logging

from django.conf import settings

from hotline.models import Message
from hotline.sms import texts

log = logging.getLogger(__name__)

# Codes in a 200 answer that will never succeed as asked (template, sign, number, account).
PERMANENT_CODES = (
    "isv.SMS_TEMPLATE_ILLEGAL",
    "isv.SMS_SIGNATURE_ILLEGAL",
    "isv.TEMPLATE_MISSING_PARAMETERS",
    "isv.TEMPLATE_PARAMS_ILLEGAL",
    "isv.MOBILE_NUMBER_ILLEGAL",
    "isv.ACCOUNT_NOT_EXISTS",
    "isv.ACCOUNT_ABNORMAL",
    "isv.BLACK_KEY_CONTROL_LIMIT",
    "isv.PARAM_LENGTH_LIMIT",
    "isv.DENY_IP_RANGE",
    "isv.AMOUNT_NOT_ENOUGH",
    "isp.RAM_PERMISSION_DENY",
)


class AliyunError(Exception):
    """Alibaba Cloud did not take the SMS; `permanent`: the same request never will."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


def _client():
    from alibabacloud_dysmsapi20170525.client import Client
    from alibabacloud_tea_openapi.utils_models import Config

    endpoint = settings.ALIYUN_SMS_ENDPOINT
    protocol = "https"
    if "://" in endpoint:
        protocol, endpoint = endpoint.split("://", 1)
    return Client(
        Config(
            access_key_id=settings.ALIYUN_ACCESS_KEY_ID,
            access_key_secret=settings.ALIYUN_ACCESS_KEY_SECRET,
            endpoint=endpoint.rstrip("/"),
            protocol=protocol.upper(),
        )
    )


def mainland_number(number: str) -> str:
    """Alibaba Cloud takes mainland numbers without +86; other numbers with their code."""
    return number[3:] if number.startswith("+86") else number.lstrip("+")


def send(message: Message) -> str:
    """Send `message` with its kind's template; returns Alibaba Cloud's BizId."""
    from alibabacloud_dysmsapi20170525 import models
    from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
    from darabonba.runtime import RuntimeOptions

    if not settings.ALIYUN_SMS_SIGN_NAME:
        raise AliyunError("ALIYUN_SMS_SIGN_NAME is not set", permanent=True)
    try:
        template, variables = texts.template_for(message)
    except KeyError:
        raise AliyunError(
            f"no Alibaba Cloud template for messages of kind {message.purpose!r}", permanent=True
        ) from None
    request = models.SendSmsRequest(
        phone_numbers=mainland_number(message.to),
        sign_name=settings.ALIYUN_SMS_SIGN_NAME,
        template_code=template,
        template_param=json.dumps(variables, ensure_ascii=False),
        out_id=str(message.pk),
    )
    runtime = RuntimeOptions(connect_timeout=5000, read_timeout=10000, autoretry=False)
    try:
        response = _client().send_sms_with_options(request, runtime)
    except AlibabaCloudException as exc:
        status = getattr(exc, "status_code", None) or 0
        permanent = 400 <= status < 500 and status != 429 and "Throttling" not in str(exc.code)
        raise AliyunError(
            f"Alibaba Cloud {status} {exc.code}: {exc.message}", permanent=permanent
        ) from exc
    except Exception as exc:  # the SDK's transport errors are not one class
        raise AliyunError(f"Alibaba Cloud unreachable: {exc}") from exc
    body = response.body
    if body is None or body.code != "OK":
        code = getattr(body, "code", "") or ""
        raise AliyunError(
            f"Alibaba Cloud {code}: {getattr(body, 'message', '')}",
            permanent=code in PERMANENT_CODES,
        )
    return body.biz_id or f"aliyun-{message.pk}"
