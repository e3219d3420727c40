# Builds the MCP Bundle (.mcpb: a zip with manifest.json, spec version 0.3) that Claude Desktop installs
# in one click: the binary under server/, the manifest listing every tool of schemas/tools/ (name and
# title), and the user's settings (where the memory lives, the agent name) passed as environment.
# -DBINARY=... -DSCHEMA_DIR=... -DVERSION=... -DSTAGING=<dir> -DOUTPUT=<file.mcpb>
file(REMOVE_RECURSE ${STAGING})
file(MAKE_DIRECTORY ${STAGING}/server)
file(COPY ${BINARY} DESTINATION ${STAGING}/server
     FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)

file(GLOB schemas ${SCHEMA_DIR}/*.json)
list(SORT schemas)
set(tools "[]")
set(index 0)
foreach(schema ${schemas})
  file(READ ${schema} text)
  string(JSON name GET "${text}" name)
  string(JSON title ERROR_VARIABLE no_title GET "${text}" title)
  if(no_title)
    set(title "${name}")
  endif()
  string(JSON tools SET "${tools}" ${index} "{}")
  string(JSON tools SET "${tools}" ${index} name "\"${name}\"")
  string(JSON tools SET "${tools}" ${index} description "\"${title}\"")
  math(EXPR index "${index} + 1")
endforeach()

set(manifest [=[{
  "manifest_version": "0.3",
  "name": "memtrace-mcp",
  "display_name": "Memtrace",
  "version": "@VERSION@",
  "description": "A memory for AI agents that outlives the conversation and can be shared between agents.",
  "long_description": "Tools to remember, recall, search, decide and forget, kept in a local SQLite file (or a Redis server that several agents share), with sessions, a session context digest and task claims for agents working together.",
  "author": {"name": "memtrace maintainers"},
  "keywords": ["memory", "agents", "sqlite", "redis"],
  "server": {
    "type": "binary",
    "entry_point": "server/memtrace-mcp",
    "mcp_config": {
      "command": "${__dirname}/server/memtrace-mcp",
      "args": [],
      "env": {
        "MEMTRACE_STORE": "${user_config.store}",
        "MEMTRACE_AGENT": "${user_config.agent}"
      }
    }
  },
  "tools": [],
  "compatibility": {"platforms": ["linux"]},
  "user_config": {
    "store": {
      "type": "string",
      "title": "Where the memory lives",
      "description": "sqlite:PATH for a file, or redis://host:port to share it with other agents. Empty: ~/.local/share/memtrace/memtrace.db.",
      "default": "",
      "required": false
    },
    "agent": {
      "type": "string",
      "title": "Agent name",
      "description": "Who memories are attributed to. Empty: the client's name.",
      "default": "",
      "required": false
    }
  }
}
]=])
string(CONFIGURE "${manifest}" manifest @ONLY)
string(JSON manifest SET "${manifest}" tools "${tools}")
file(WRITE ${STAGING}/manifest.json "${manifest}\n")

file(REMOVE ${OUTPUT})
execute_process(COMMAND ${CMAKE_COMMAND} -E tar cf ${OUTPUT} --format=zip manifest.json server
                WORKING_DIRECTORY ${STAGING} RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "could not write ${OUTPUT}")
endif()
