# xseqd with its Node tools (solc artifacts are committed; anvil runs as its own service)
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm make && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
RUN python -m venv .venv && .venv/bin/pip install -q -c constraints.txt . && npm install --no-audit --no-fund --loglevel=error
EXPOSE 9545
ENTRYPOINT [".venv/bin/xseqd"]
# 0.0.0.0 on purpose (a container's loopback is unreachable from a published port): publish it
# on the host's loopback (docker-compose.yml does), or add --no-cheats before exposing it wider
CMD ["devnet", "--host", "0.0.0.0", "--l1-rpc", "http://anvil:8545"]
