"""Sign-up and log-in as the account tests and the abuse tests drive them."""

from __future__ import annotations

SIGNUP = "/accounts/signup/"
LOGIN = "/accounts/login/"
GOOD_PASSWORD = "a slow river of tea"


def signup_data(**overrides):
    data = {
        "email": "newcomer@example.org",
        "username": "newcomer",
        "display_name": "New Comer",
        "password1": GOOD_PASSWORD,
        "password2": GOOD_PASSWORD,
    }
    data.update(overrides)
    return data
