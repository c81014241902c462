"""The supervisor console: a signed-in web view of runs, items, exceptions, flows, schedules and KPIs.

Server-rendered Starlette + Jinja2. `bastidor.console.app.create_app` builds the app from a
`bastidor.console.context.ConsoleContext`; `runner.py dashboard` serves it with uvicorn on 127.0.0.1.
Every page checks the signed-in user's role on the server (`bastidor.console.security.require`), every
POST carries a CSRF token, and every action a person takes is recorded in the console audit log.
"""
