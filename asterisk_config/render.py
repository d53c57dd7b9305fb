"""Render Asterisk's configuration from the project's settings.

Templates live in ``templates/*.conf.tmpl`` with ``{{name}}`` placeholders (Asterisk's own
``${...}`` stays untouched). Every value is checked by :mod:`asterisk_config.values` before it
is placed, an unknown placeholder is an error, and nothing is written until everything rendered.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Protocol

from asterisk_config import values
from recobro.domain.errors import ValidationError

DEFAULT_AMI_SECRET = "recobro-dev-secret"  # noqa: S105  # the settings' public default, refused in production
CONFIG_FILES = (
    "asterisk.conf",
    "modules.conf",
    "manager.conf",
    "pjsip.conf",
    "http.conf",
    "rtp.conf",
    "extensions.conf",
    "amd.conf",
    "confbridge.conf",
    "logger.conf",
    "cdr.conf",
    "indications.conf",
    "ccss.conf",
    "cel.conf",
    "features.conf",
    "acl.conf",
    "udptl.conf",
    "pjproject.conf",
)
_PLACEHOLDER = re.compile(r"\{\{([a-z_]+)\}\}")


class SettingsLike(Protocol):
    """The fields of ``recobro.runtime.settings.Settings`` the configuration uses."""

    production: bool
    region: str
    ami_host: str
    ami_port: int
    ami_user: str
    ami_secret: str
    agi_host: str
    agi_port: int
    sip_port: int
    carrier_host: str
    company_name: str
    callback_number: str


@dataclass(frozen=True, slots=True)
class AsteriskPaths:
    """Where Asterisk finds its files, as seen by the Asterisk process (inside a chroot for the
    sandbox)."""

    etc_dir: str = "/etc/asterisk"
    module_dir: str = "/usr/lib/x86_64-linux-gnu/asterisk/modules"
    db_dir: str = "/var/lib/asterisk"
    run_dir: str = "/var/run/asterisk"
    log_dir: str = "/var/log/asterisk"
    spool_dir: str = "/var/spool/asterisk"
    cache_dir: str = "/var/cache/asterisk"

    @classmethod
    def instance(cls, name: str, module_dir: str) -> AsteriskPaths:
        """Separate directories per named instance, so two sandboxes can run side by side."""
        values.config_name(name, field="instance")
        return cls(
            etc_dir=f"/etc/recobro/{name}",
            module_dir=module_dir,
            db_dir=f"/var/lib/recobro/{name}",
            run_dir=f"/run/recobro/{name}",
            log_dir=f"/var/log/recobro/{name}",
            spool_dir=f"/var/spool/recobro/{name}",
            cache_dir=f"/var/cache/recobro/{name}",
        )


@dataclass(frozen=True, slots=True)
class AgentEndpoint:
    """A registering softphone of an agent: endpoint ``agent-<id>`` with digest auth."""

    agent_id: str
    password: str


@dataclass(frozen=True, slots=True)
class ConfigParams:
    ami_bind: str = "127.0.0.1"
    ami_port: int = 5038
    ami_user: str = "recobro"
    ami_secret: str = DEFAULT_AMI_SECRET
    ami_permit: str = ""  # empty: only the bind address (or loopback when bound to all)
    agi_host: str = "127.0.0.1"
    agi_port: int = 4573
    sip_bind: str = "0.0.0.0"
    sip_port: int = 5060
    http_bind: str = "127.0.0.1"
    http_port: int = 8088
    rtp_start: int = 10000
    rtp_end: int = 20000
    carrier_host: str = "127.0.0.1:5070"
    company_name: str = "Recobro Cobranza"
    callback_number: str = "+525555555555"
    language: str = "es"
    country: str = "mx"
    hold_seconds: int = 30
    production: bool = False
    agents: Sequence[AgentEndpoint] = ()
    paths: AsteriskPaths = field(default_factory=AsteriskPaths)
    test_contexts: bool = False


def params_from_settings(settings: SettingsLike, **overrides: object) -> ConfigParams:
    """The configuration for these settings; ``overrides`` replace single fields (ports, paths)."""
    ami_bind = settings.ami_host if _is_ip(settings.ami_host) else "127.0.0.1"
    base: dict[str, object] = {
        "ami_bind": ami_bind,
        "ami_port": settings.ami_port,
        "ami_user": settings.ami_user,
        "ami_secret": settings.ami_secret,
        "agi_host": settings.agi_host,
        "agi_port": settings.agi_port,
        "sip_port": settings.sip_port,
        "carrier_host": settings.carrier_host,
        "company_name": settings.company_name,
        "callback_number": settings.callback_number,
        "country": "us" if settings.region == "US" else "mx",
        "production": settings.production,
    }
    base.update(overrides)
    return ConfigParams(**base)  # type: ignore[arg-type]


def render_config(params: ConfigParams) -> dict[str, str]:
    """File name -> text of every configuration file; raises ValidationError on a bad value."""
    placeholders = _checked_values(params)
    rendered: dict[str, str] = {}
    for name in CONFIG_FILES:
        rendered[name] = _fill(_template(name), placeholders, name)
    return rendered


def write_config(params: ConfigParams, out_dir: Path) -> list[Path]:
    """Render everything, then write it into ``out_dir`` (created). Returns the written files."""
    rendered = render_config(params)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, body in rendered.items():
        target = out_dir / name
        target.write_text(body, encoding="utf-8")
        written.append(target)
    manager = out_dir / "manager.conf"
    manager.chmod(0o600)  # it holds the AMI secret
    return written


def _checked_values(p: ConfigParams) -> dict[str, str]:
    if p.production and p.ami_secret == DEFAULT_AMI_SECRET:
        raise ValidationError(
            "En producción RECOBRO_AMI_SECRET no puede ser el valor por omisión / "
            "In production RECOBRO_AMI_SECRET cannot be the default",
            field="ami_secret",
        )
    carrier_host, carrier_port = values.host_port(p.carrier_host, field="carrier_host")
    for name in ("ami_port", "agi_port", "sip_port", "http_port", "rtp_start", "rtp_end"):
        values.port(getattr(p, name), field=name)
    if p.rtp_end <= p.rtp_start:
        raise ValidationError("rtp_end debe ser mayor que rtp_start / rtp_end must exceed rtp_start", field="rtp_end")
    if not 1 <= p.hold_seconds <= 600:
        raise ValidationError("hold_seconds: 1-600", field="hold_seconds", value=str(p.hold_seconds))
    ami_bind = values.host(p.ami_bind, field="ami_bind")
    paths = {name: values.path(getattr(p.paths, name), field=name) for name in AsteriskPaths.__slots__}
    language = values.config_name(p.language, field="language")
    country = p.country if p.country in ("mx", "us") else "mx"
    callback = values.digits(p.callback_number, field="callback_number")
    return {
        **paths,
        "ami_bind": ami_bind,
        "ami_port": str(p.ami_port),
        "ami_user": values.config_name(p.ami_user, field="ami_user"),
        "ami_secret": values.secret(p.ami_secret, field="ami_secret"),
        "ami_permit": _permit(p.ami_permit, ami_bind),
        "agi_host": values.host(p.agi_host, field="agi_host"),
        "agi_port": str(p.agi_port),
        "sip_bind": values.host(p.sip_bind, field="sip_bind"),
        "sip_port": str(p.sip_port),
        "http_bind": values.host(p.http_bind, field="http_bind"),
        "http_port": str(p.http_port),
        "rtp_start": str(p.rtp_start),
        "rtp_end": str(p.rtp_end),
        "carrier_host": carrier_host,
        "carrier_port": str(carrier_port),
        "company_name": values.text(p.company_name, field="company_name"),
        "callback_digits": callback.lstrip("+"),
        "language": language,
        "country": country,
        "hold_seconds": str(p.hold_seconds),
        "agent_endpoints": _agent_endpoints(p.agents, language),
        "test_contexts": _template("test-contexts.conf") if p.test_contexts else "",
    }


def _permit(given: str, ami_bind: str) -> str:
    """The AMI ACL: what was asked for, else only the bind address (loopback when bound to all)."""
    if given:
        try:
            net = ipaddress.ip_network(given, strict=False)
        except ValueError as exc:
            raise ValidationError("ami_permit no es una red válida / is not a valid network",
                                  field="ami_permit", value=given) from exc
        return f"{net.network_address}/{net.netmask}"
    if not _is_ip(ami_bind) or ipaddress.ip_address(ami_bind).is_unspecified:
        return "127.0.0.1/255.255.255.255"
    return f"{ami_bind}/255.255.255.255"


def _agent_endpoints(agents: Sequence[AgentEndpoint], language: str) -> str:
    blocks = []
    seen: set[str] = set()
    for agent in agents:
        if not (agent.agent_id.isascii() and agent.agent_id.isdigit() and len(agent.agent_id) <= 12):
            raise ValidationError("agent id: 1-12 dígitos / digits", field="agent_id", value=agent.agent_id)
        if agent.agent_id in seen:
            raise ValidationError("agente repetido / duplicate agent", field="agent_id", value=agent.agent_id)
        seen.add(agent.agent_id)
        password = values.secret(agent.password, field=f"agent {agent.agent_id} password")
        name = f"agent-{agent.agent_id}"
        blocks.append(
            f"[{name}](agent-endpoint)\nauth = {name}\naors = {name}\nlanguage = {language}\n\n"
            f"[{name}]\ntype = auth\nauth_type = userpass\nusername = {name}\npassword = {password}\n\n"
            f"[{name}]\ntype = aor\nmax_contacts = 1\nremove_existing = yes\n"
        )
    return "\n".join(blocks)


def _template(name: str) -> str:
    return resources.files("asterisk_config").joinpath("templates", f"{name}.tmpl").read_text(encoding="utf-8")


def _fill(template: str, placeholders: Mapping[str, str], name: str) -> str:
    def one(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in placeholders:
            raise KeyError(f"{name}: unknown placeholder {{{{{key}}}}}")
        return placeholders[key]

    return _PLACEHOLDER.sub(one, template)


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
