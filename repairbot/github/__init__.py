"""`repairbot serve`: the GitHub bot. A webhook on failing CI becomes a repair job on the
task queue; its result goes back to GitHub as a check run and a pull request.

One module per job: `settings` (the operator's env), `webhook` (signature and body),
`events` (which event means which job), `guards` (what is refused), `store` (deliveries and
bot jobs in the database), `auth` and `client` (the only way to GitHub's API), `gitauth`
(the token for git, never in a URL), `start` (a request becomes a queued job), `report`
(check run, branch, pull request), `reporter` (follows the jobs), `pages` and `app` (HTTP)."""
