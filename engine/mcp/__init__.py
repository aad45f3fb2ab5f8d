"""MCP (Model Context Protocol) servers as tool sources, through the official `mcp` SDK.

- http.py: the httpx2 client behind the outbound guard (the SDK speaks httpx2)
- client.py: `open_mcp_session`, streamable HTTP falling back to SSE; list and call tools
- config.py: the `mcpServers` config (no SDK import)
- tools.py: a connected server's tools as agent `ToolSpec`s
"""
