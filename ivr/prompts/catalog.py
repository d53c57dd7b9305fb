"""Every sentence the IVR says, in Spanish (es-MX, first) and English, as templates.

A template without ``{placeholders}`` is a fixed prompt, rendered once at setup; the others are
filled per call (names, amounts and dates already in words) and rendered through the cache.
The flows only ask for ``prompt(key, language, **words)``; nothing here does I/O.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

TEXTS: dict[str, dict[str, str]] = {
    # -- outbound opening and identity ------------------------------------------------------
    # The greeting (one per company, soon cached) plays while the sentence with the name renders.
    "greeting": {
        "es": "Hola, le llamamos de {company}.",
        "en": "Hello, this is {company} calling.",
    },
    "identity_question": {
        "es": "Si usted es {name}, oprima 1. Si no es {name}, oprima 2.",
        "en": "If you are {name}, press 1. If you are not {name}, press 2.",
    },
    "wrong_party_bye": {
        "es": "Disculpe la molestia. Que tenga buen día.",
        "en": "Sorry to have bothered you. Have a good day.",
    },
    "voicemail": {
        "es": "Este es un mensaje de {company}. Por favor comuníquese con nosotros al {number}. Gracias.",
        "en": "This is a message from {company}. Please call us back at {number}. Thank you.",
    },
    # -- disclosures, by jurisdiction (said only to the confirmed debtor) ---------------------
    "disclosure_US": {
        "es": (
            "Esta es una comunicación de un cobrador de deudas. Es un intento de cobrar una deuda, y "
            "cualquier información que se obtenga se usará con ese fin."
        ),
        "en": (
            "This is a communication from a debt collector. This is an attempt to collect a debt, and "
            "any information obtained will be used for that purpose."
        ),
    },
    "disclosure_MX": {
        "es": "{company} le llama como despacho de cobranza por cuenta de su acreedor. Esta llamada puede ser grabada.",
        "en": "{company} is calling as a collection agency on behalf of your creditor. This call may be recorded.",
    },
    "disclosure_CO": {
        "es": "Le habla {company}, gestor de cobranza de su obligación. Esta llamada puede ser grabada.",
        "en": "This is {company}, the collection agent for your obligation. This call may be recorded.",
    },
    "balance": {
        "es": "Su saldo vencido es de {amount}, que venció {due}.",
        "en": "Your past-due balance is {amount}, which was due on {due}.",
    },
    # -- the menu --------------------------------------------------------------------------
    "menu": {
        "es": (
            "Para recibir un enlace de pago por mensaje de texto, oprima 1. Para hacer una promesa de pago, "
            "oprima 2. Para hablar con un asesor, oprima 3. Para repetir, oprima 9."
        ),
        "en": (
            "To get a payment link by text message, press 1. To make a promise to pay, press 2. "
            "To speak with an agent, press 3. To hear this again, press 9."
        ),
    },
    "invalid_option": {
        "es": "No recibimos una opción válida.",
        "en": "We did not get a valid option.",
    },
    "goodbye": {
        "es": "Gracias por su tiempo. Hasta luego.",
        "en": "Thank you for your time. Goodbye.",
    },
    "goodbye_no_input": {
        "es": "No recibimos una respuesta. Gracias, hasta luego.",
        "en": "We did not get an answer. Thank you, goodbye.",
    },
    "sms_sent": {
        "es": "Le enviamos un mensaje de texto con el enlace de pago. Gracias por su pago.",
        "en": "We sent you a text message with the payment link. Thank you for your payment.",
    },
    "sms_failed": {
        "es": "No pudimos enviar el mensaje en este momento.",
        "en": "We could not send the message right now.",
    },
    # -- promise to pay ----------------------------------------------------------------------
    "promise_date_mode": {
        "es": "Para indicar el día y el mes de su pago, oprima 1. Para indicar en cuántos días pagará, oprima 2.",
        "en": "To enter the day and month of your payment, press 1. To enter in how many days you will pay, press 2.",
    },
    "promise_date_entry": {
        "es": "Marque el día y el mes con cuatro dígitos. Por ejemplo, para el cinco de noviembre, marque 0 5 1 1.",
        "en": "Enter the day and the month with four digits. For example, for November fifth, enter 0 5 1 1.",
    },
    "promise_days_entry": {
        "es": "Marque en cuántos días pagará y después la tecla de número.",
        "en": "Enter in how many days you will pay, then press the pound key.",
    },
    "date_invalid": {"es": "Esa fecha no es válida.", "en": "That date is not valid."},
    "date_past": {"es": "Esa fecha ya pasó.", "en": "That date has already passed."},
    "date_beyond": {
        "es": "La fecha de pago debe ser a más tardar {limit}.",
        "en": "The payment date must be no later than {limit}.",
    },
    "too_many_digits": {"es": "Marcó demasiados dígitos.", "en": "You entered too many digits."},
    "amount_mode": {
        "es": "Para pagar el saldo total de {amount}, oprima 1. Para un pago parcial, oprima 2.",
        "en": "To pay the full balance of {amount}, press 1. For a partial payment, press 2.",
    },
    "amount_entry": {
        "es": "Marque el monto y después la tecla de número. Para separar los centavos, use la tecla de asterisco.",
        "en": "Enter the amount, then press the pound key. To separate the cents, use the star key.",
    },
    "amount_invalid": {"es": "Ese monto no es válido.", "en": "That amount is not valid."},
    "amount_above": {
        "es": "El monto no puede ser mayor que su saldo de {amount}.",
        "en": "The amount cannot be more than your balance of {amount}.",
    },
    "promise_confirm": {
        "es": "Usted se compromete a pagar {amount} {date}. Para confirmar, oprima 1. Para corregir, oprima 2.",
        "en": "You promise to pay {amount} on {date}. To confirm, press 1. To change it, press 2.",
    },
    "promise_saved": {
        "es": "Su promesa de pago quedó registrada. Gracias.",
        "en": "Your promise to pay has been recorded. Thank you.",
    },
    # -- agent -----------------------------------------------------------------------------
    "agent_wait": {
        "es": "Le comunicamos con un asesor. El tiempo estimado de espera es de {wait}.",
        "en": "We are connecting you with an agent. The estimated wait is {wait}.",
    },
    "agent_connecting": {
        "es": "Le comunicamos con un asesor. Por favor espere.",
        "en": "We are connecting you with an agent. Please hold.",
    },
    "agent_unavailable": {
        "es": "En este momento no hay asesores disponibles. Un asesor le llamará lo antes posible.",
        "en": "No agents are available right now. An agent will call you back as soon as possible.",
    },
    "callback_offer": {
        "es": (
            "Nuestros asesores no están disponibles a esta hora. Para que un asesor le llame {when}, "
            "oprima 1. Para volver al menú, oprima 2."
        ),
        "en": (
            "Our agents are not available at this time. To have an agent call you back {when}, "
            "press 1. To go back to the menu, press 2."
        ),
    },
    "callback_saved": {
        "es": "Registramos su solicitud. Un asesor le llamará. Gracias.",
        "en": "Your request has been recorded. An agent will call you. Thank you.",
    },
    # -- inbound identification -------------------------------------------------------------
    "inbound_welcome": {"es": "Gracias por llamar a {company}.", "en": "Thank you for calling {company}."},
    "ask_account": {
        "es": "Marque su número de cuenta y después la tecla de número.",
        "en": "Enter your account number, then press the pound key.",
    },
    "account_not_found": {"es": "No encontramos esa cuenta.", "en": "We could not find that account."},
    "ask_pin": {
        "es": "Para verificar su identidad, marque su número de identificación personal.",
        "en": "To verify your identity, enter your personal identification number.",
    },
    "ask_id_last4": {
        "es": "Para verificar su identidad, marque los últimos cuatro dígitos de su identificación oficial.",
        "en": "To verify your identity, enter the last four digits of your official ID.",
    },
    "identity_mismatch": {"es": "Los datos no coinciden.", "en": "That does not match our records."},
    "identification_failed": {
        "es": "No pudimos verificar sus datos. Hasta luego.",
        "en": "We could not verify your information. Goodbye.",
    },
}

LANGUAGES = ("es", "en")


@dataclass(frozen=True, slots=True)
class Prompt:
    """One sentence to say: its catalog key, its language and its final text."""

    key: str
    language: str
    text: str

    @property
    def fixed(self) -> bool:
        return is_fixed(self.key)


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def is_fixed(key: str) -> bool:
    """A prompt with no placeholders in any language: the same audio for every call."""
    return all(not _fields(t) for t in TEXTS[key].values())


def language_of(language: str | None) -> str:
    """The IVR language for an account's language code; Spanish when unknown."""
    lang = (language or "").lower()[:2]
    return lang if lang in LANGUAGES else "es"


def prompt(key: str, language: str, **words: str) -> Prompt:
    """The sentence ``key`` in ``language`` with its placeholders filled (all must be given)."""
    lang = language_of(language)
    template = TEXTS[key][lang]
    missing = _fields(template) - set(words)
    if missing:
        raise KeyError(f"prompt {key!r} needs {sorted(missing)}")
    return Prompt(key, lang, template.format(**words))


def fixed_prompts() -> list[Prompt]:
    """Every fixed prompt in every language: what setup renders ahead of the first call."""
    return [prompt(k, lang) for k in TEXTS if is_fixed(k) for lang in LANGUAGES]
