"""Asterisk configuration templates, sipp test phones and the sandbox that runs Asterisk here."""
