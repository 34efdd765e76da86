/* Implemented by the store work. */
typedef int tg_committer_placeholder;
