// The Redis store's key layout (version 1), and the small encodings its records use.
//
// Every key of a namespace starts with "mt:v1:{<ns>}:" (ns with '%', '{' and '}' percent-encoded).
// The hash tag {<ns>} puts everything of one namespace into ONE cluster slot. That is deliberate:
// a remember must write the memory and all its index entries (namespace, session, agent, type, tag
// and trigram zsets, the session's participants) in one atomic Lua script, and a script may only
// touch keys of one slot; a query intersects indexes of different kinds, which again must share a
// slot. Finer tags (per session, per tag) would split those atomic steps across slots. The cost is
// that one namespace lives on one shard; namespaces (tenants) spread across shards, so the later
// cluster backend routes each script by its KEYS[1] (the prefix) and needs no new layout.
// The one key outside any namespace is kNamespacesKey, the registry purge_expired walks; it is
// written on its own (idempotent SADD), never inside a script.
//
//   P = mt:v1:{ns}:
//   P m:<id>          string the memory, all its fields in one string (layout: redis_memory_string.h;
//                            PEXPIREAT expires_at when it has a TTL; superseded_by and valid_until are set
//                            once a newer memory superseded it; its number in the content index once it
//                            has one, unless it has an mx record). One string, not a hash: a script reads a
//                            memory with one GET and unpacks only the fields it checks, and the reply
//                            carries one value per memory instead of a name and a value per field.
//                            Versions before it kept a hash (id s a t c g i ca [ea] md [r] [sb vu]); the
//                            first script that meets one rewrites it as a string (mem_read, prelude.lua)
//   P ddw:<window>:<n> hash  deduplication (store/dedup.h): fingerprint -> the newest memory written with it,
//                            for the memories created in window n of `window` ms (created_at // window).
//                            Expires two windows after its first write; write_memory checks the memory's
//                            fields before using it. Builds before kept one string per fingerprint, P
//                            dd:<fingerprint> (PX the window): still read while they last
//   P mx:<id>         string what to unindex a memory with an expiry by: session agent type tags, its
//                            number once it has one; struct-packed (lua/prelude.lua, mx_write; no TTL:
//                            outlives m:<id> so that index entries of a memory Redis expired can still be
//                            removed). A memory without an expiry has none: its string says the same.
//                            Earlier builds wrote one for every memory, with its trigrams until they were
//                            all indexed, and before that a hash (s a t g 3), rewritten as a string when
//                            first met (mx_read); both are still read
//   P mi:all          zset   every memory id, score 0 (ordered by id: ZREVRANGEBYLEX walks newest first)
//   P mi:time         zset   id by created_at, of the memories whose id does not tell it (id_made_at in
//                            lua/prelude.lua: an import's, or one made while the clock was set back). A
//                            since/until window reads mi:all's range of ids made in it, and this. Builds
//                            before it held every memory; index_content takes out those (mi:tt: the rank
//                            reached, or 'done')
//   P mi:imp          zset   id by importance (min_importance windows), layout 1 (layout 2: mi:4:imp:<band>)
//   P mi:exp          zset   id by expires_at (purge_expired)
//   P mi:s:<session>  zset   ids of a session, score 0 (layout 1; layout 2: mi:4:session:<session>)
//   P mi:se:<session> zset   id by expires_at, for live counts per session
//   P mi:sw:<session> zset   id by importance: the sliding window's eviction order (ties: oldest id); in
//                            layout 2 what counts a session's memories
//   P mi:ss:<session> zset   superseded ids of the session by expires_at (+inf without one): with mi:s and
//                            mi:se, the count of its live, unsuperseded memories without reading them.
//                            Kept for sessions whose hash has ssx (all those created since it exists)
//   P mi:v            string the namespace's layout, 1 or 2, fixed by its first memory (namespace_layout in
//                            lua/prelude.lua): the server's --redis-layout
//                            (RedisOptions::new_namespace_layout), but 1 if memories are there already
//                            (builds before kept no mi:v and layout 1). Layout 1 keeps mi:imp, mi:s:<session>
//                            and the next three sorted sets; layout 2 keeps none of them: it has the
//                            postings mi:4:imp:<band>, mi:4:session:<session>, mi:4:agent:<agent>,
//                            mi:4:type:<type> and mi:4:tag:<tag> instead, filled at the remember: about 700
//                            bytes less per memory with two tags (4 bytes an entry, not ~118)
//   P mi:a:<agent>    zset   ids by agent, score 0 (layout 1)
//   P mi:t:<type>     zset   ids by type, score 0 (layout 1)
//   P mi:g:<tag>      zset   ids by tag, score 0 (layout 1)
//   The content index: a memory gets a number, and each trigram of its lower-cased content a 4-byte entry.
//   Layout 1 numbers a memory with a trigram when index_content takes it in; layout 2 numbers every memory
//   at its remember, and its tags', agent's and type's postings take the number then. Forgetting a
//   memory clears its number, not its entries; a sweep rewrites the postings without them once the forgotten
//   are half as many as the live. P mi:n            string the last memory number given (INCR) P mi:ids hash
//   number -> id (one hash, so that a search maps all its numbers in one HMGET) P mi:live         bitmap bit
//   <number> set while that memory lives P mi:4:<trigram>  string the numbers of the memories whose
//   lower-cased content contains the 3-byte
//                            trigram: 4 bytes each, big-endian, ascending (appended in number order)
//   P mi:4:tag:<tag>  string the numbers of the memories with that tag, in the same form (appended when the
//                            memory is numbered), so that a content + tag search intersects postings; in
//                            layout 2 what every search by tag reads
//   P mi:4:agent:<agent>, P mi:4:type:<type>  string  layout 2: the numbers of the agent's memories, of the
//                            type's, in the same form (appended when the memory is numbered)
//   P mi:4:session:<session>  string  layout 2: the numbers of the session's memories, in the same form
//   P mi:4:imp:<band> string layout 2: the numbers of the memories whose importance is in the band 0-20
//                            (importance_band in lua/prelude.lua: a twentieth each), in the same form
//   P mi:4g           string the first number whose tags went into tag postings: memories numbered
//                            before it (by builds before tag postings) are in mi:g:<tag> only
//   P mi:4k           zset   the postings' names, score 0: trigrams, 'tag:<tag>', 'agent:<agent>',
//                            'type:<type>', 'imp:<band>' and 'session:<session>' (what the sweep walks)
//   P mi:maxid        string the largest id numbered so far
//   P mi:pmax         hash   n/32 -> mi:maxid once the last number of that run of 32 was given: no
//                            number up to the run names a larger id (searches stream postings newest first
//                            by it)
//   P mi:dead         string numbered memories forgotten and not yet swept out of the postings
//   P mi:4s           hash   the sweep under way: at (trigram) off (its entries done) dead (mi:dead then)
//   P mi:4t           string the posting being rewritten by the sweep
//   P mi:3:<trigram>  set    ids whose lower-cased content contains the trigram, as builds before
//                            postings indexed them; searches still read them, and forgetting such a
//                            memory removes it (unindex); nothing adds to them
//   P mi:pend         zset   ids written but not yet in the postings (index_content adds them later;
//                            searches check these by their content). Layout 1: score 0, or minus the
//                            number of trigrams added so far of one that an index step left half done.
//                            Layout 2: score the memory's number (index_content takes them in that order)
//   P mi:half         hash   layout 2: the memory an index step left half done -> its trigrams added so far
//   P s:<session>     hash   the session: id cb st ca ua [cl] [ssx] md:<key>...  (ssx: its mi:ss is
//                            complete, i.e. every supersede in the session happened since mi:ss exists)
//   P sp:<session>    set    agents that wrote into the session
//   P si:all          zset   session ids, score 0
//   P si:st:<status>  zset   session ids by status (active | closed)
//   P si:a:<agent>    zset   sessions the agent created or wrote into
//   P si:md:<n>:<key><value>  zset  sessions whose metadata has key (n bytes long) = value (JSON text)
//   P a:<agent>       hash   the agent: id d ca
//   P tc:<task>       string a task claim (SET NX PX; layout in redis_claims.h)
//   P tc:<task>       string the task's claim: holder agent + session, times (PX lease; redis_claims.h)
//   P feed            stream   the change feed: one entry per change (k at a s x), appended by the script
//                            making the change; ids <ms>-<seq> are the cursors (trimmed by purge_expired)
//   P feed:top        string   the largest ms of a feed id so far, so that ids grow with any writer's clock
//   P events          shard channel (SPUBLISH)  "m:<session>" (memory written/forgotten) |
//                            "s:<session>" (session changed)
//
// API keys of the HTTP transport are looked up by token hash before any namespace is known, so they
// live apart, in one slot of their own (K = kApiKeysPrefix; never "mt:v1:{", so no namespace collides):
//   K k:<id>          hash   the key: id ns h l ca [ra]
//   K h:<sha256>      string the id of the key with that token hash
//   K all             zset   key ids by created_at
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace memtrace::redis {

inline constexpr std::string_view kNamespacesKey = "mt:v1:namespaces";
// Prefix of the API key records (KEYS[1] of their scripts).
inline constexpr std::string_view kApiKeysPrefix = "mt:v1:apikeys:{apikeys}:";

// "mt:v1:{<ns>}:", the prefix of every key of the namespace (KEYS[1] of every script).
std::string namespace_prefix(std::string_view ns);
// "mt:v1:{<ns>}:events", the namespace's shard channel (SPUBLISH / SSUBSCRIBE): its hash tag puts it
// in the namespace's slot, on the master that runs the namespace's scripts.
std::string events_channel(std::string_view ns);
// The namespace an events channel belongs to, or nullopt if it is not one of ours.
std::optional<std::string> namespace_from_channel(std::string_view channel);

// Key suffixes (appended to the namespace prefix).
std::string memory_key(std::string_view id);
std::string session_key(std::string_view id);
std::string agent_key(std::string_view id);
std::string session_window_index(std::string_view session_id);  // mi:sw:<session>
std::string session_memories_index(std::string_view session_id);
std::string tag_index(std::string_view tag);
std::string trigram_index(std::string_view trigram);
std::string session_status_index(std::string_view status);
std::string agent_sessions_index(std::string_view agent_id);
std::string metadata_index(std::string_view key, std::string_view value);

// A list of strings as one string: "<length>:<bytes>" per element (the Lua side decodes it too).
std::string encode_list(const std::vector<std::string>& items);
std::vector<std::string> decode_list(std::string_view encoded);

// ASCII lower-casing: the case folding of content_contains. (Lua's string.lower in Redis, which runs
// in the C locale, folds exactly the same bytes, so the scripts can verify a match themselves.)
std::string fold_case(std::string_view text);
// Up to `max` distinct trigrams of an already folded needle, spread over it; empty if it is shorter
// than 3 bytes.
std::vector<std::string> needle_trigrams(std::string_view folded_needle, std::size_t max);

}  // namespace memtrace::redis
