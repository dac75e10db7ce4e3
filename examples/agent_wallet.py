"""Let an agent key trade for the account (a bot need not hold the main key), then revoke it."""

from solders.keypair import Keypair
from tidepool_env import URL, client

from tidepool.client import Client

agent = Keypair()  # in a real bot: made once and kept, e.g. by `tidepool keygen --out agent.json`
with client() as main:
    main.bind_agent_wallet(agent_wallet=str(agent.pubkey()))  # signed by the main key
    with Client(URL, agent_key=agent, account=main.address) as bot:
        ref = bot.create_order(symbol="SOL", price="140", amount="1", side="bid")
        print(f"the agent placed order {ref.order_id} for {main.address}")
        bot.cancel_order(symbol="SOL", order_id=ref.order_id)
    main.revoke_agent_wallet(agent_wallet=str(agent.pubkey()))
    print("agents left:", main.list_agent_wallets())
