"""Customers, sellers, employees, products, orders, reviews and cases."""
