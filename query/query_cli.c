/* tollgate query: implemented by the query CLI work. */
typedef int tg_query_placeholder;
