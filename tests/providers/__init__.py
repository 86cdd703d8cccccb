"""Adapter tests against local fakes of the clouds."""
