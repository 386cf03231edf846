"""Test support: the one harness, fixture, factory and check of each kind the test modules
share. Test modules import from here (never from one another); fixtures come through pytest
(tests/support/fixtures.py, loaded by tests/conftest.py)."""
