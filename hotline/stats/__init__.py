"""What the line did: statistics for a period and a scope (docs/reports.md).

selectors.py computes every figure in the database (a fixed number of queries, whatever the
number of calls); scope.py decides which hotlines a request covers; params.py parses a
request's period and scope; charts.py draws the figures as SVG; exports.py writes them as
XLSX, DOCX and CSV; services.py keeps the monthly activity reports. The API
(api/views/stats.py), the pages (views.py) and the monthly task all read selectors.py.
"""
