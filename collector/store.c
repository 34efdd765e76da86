/* Implemented by the store work. */
typedef int tg_store_placeholder;
