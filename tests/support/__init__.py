"""Helpers of the test tree: fakes, contracts, clients and the data the tests share (none is a conftest)."""
