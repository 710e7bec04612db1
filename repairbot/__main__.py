from repairbot.cli import app

app(prog_name="repairbot")
