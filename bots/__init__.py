"""Bots: finding a browser, running a browser session and locating targets on a page.

- `bastidor.bots.discovery`: `find_browser()` and `launch_args()`.
- `bastidor.bots.session`: `Bot` (one browser per bot) and `BotSettings`; `Bot.run_context()` gives a
  fresh `BrowserRun` (context + page) per run.
- `bastidor.bots.browser_run`: `BrowserRun` screenshots, traces, dialogs and downloads.
- `bastidor.bots.warm`: the context `Bot.prepare()` opens ahead of the next run, while the bot is idle.
- `bastidor.bots.blocking`: `RequestBlocker` refuses the requests a flow's `bot: {block: [...]}` names.
- `bastidor.bots.crash`: `is_crash()` tells a crashed browser from a failed flow.
- `bastidor.bots.locate`: `locate(page, target)` finds elements the way a person reads the page.
"""
