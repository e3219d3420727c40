# Writes the man page memtrace-mcp.1.gz from the built binary's --help and --version, with help2man.
# -DHELP2MAN=... -DBINARY=... -DOUTPUT=.../memtrace-mcp.1.gz
# HOME=~ so that the default database reads ~/.local/share/memtrace/memtrace.db, not the builder's home.
execute_process(
  COMMAND ${CMAKE_COMMAND} -E env --unset=XDG_DATA_HOME HOME=~ ${HELP2MAN} --no-info --no-discard-stderr --section=1
          "--name=a memory for AI agents, served over the Model Context Protocol" --output=${OUTPUT}.tmp
          ${BINARY}
  RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "help2man failed (${result})")
endif()
# Reproducible: gzip without a name or time stamp.
execute_process(COMMAND gzip -n -9 -c ${OUTPUT}.tmp OUTPUT_FILE ${OUTPUT} RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "gzip failed (${result})")
endif()
file(REMOVE ${OUTPUT}.tmp)
