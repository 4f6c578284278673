from claimwatch.cli import app

app(prog_name="claimwatch")
