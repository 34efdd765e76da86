/* Intrusive doubly linked lists: the servers' lists of open connections.
 * A node is any struct with `prev` and `next` pointers to its own type;
 * `head` is the list's first node (an lvalue), NULL when empty. */
#ifndef TG_LIST_H
#define TG_LIST_H

/* Puts node n first in the list. */
#define TG_LIST_PUSH(head, n)                                                            \
    do {                                                                                 \
        (n)->prev = NULL;                                                                \
        (n)->next = (head);                                                              \
        if (head)                                                                        \
            (head)->prev = (n);                                                          \
        (head) = (n);                                                                    \
    } while (0)

/* Takes node n out of the list (its own pointers are left as they were). */
#define TG_LIST_UNLINK(head, n)                                                          \
    do {                                                                                 \
        if ((n)->prev)                                                                   \
            (n)->prev->next = (n)->next;                                                 \
        else                                                                             \
            (head) = (n)->next;                                                          \
        if ((n)->next)                                                                   \
            (n)->next->prev = (n)->prev;                                                 \
    } while (0)

#endif
