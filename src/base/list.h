/* SPDX-License-Identifier: MIT */
/*
 * sh_list: an intrusive circular doubly linked list (libuv's queue.h, typed). A node
 * lives inside the object it links; sh_container_of() gets the object back. A node that
 * is not on a list points to itself, so removal is always safe and idempotent.
 */
#ifndef SH_BASE_LIST_H
#define SH_BASE_LIST_H

#include <stddef.h>

typedef struct sh_list_s {
    struct sh_list_s *prev, *next;
} sh_list_t;

#define sh_container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

static inline void sh_list_init(sh_list_t *l)
{
    l->prev = l->next = l;
}

static inline int sh_list_empty(const sh_list_t *l)
{
    return l->next == l;
}

/** Whether node |n| is on some list. */
static inline int sh_list_linked(const sh_list_t *n)
{
    return n->next != n;
}

static inline void sh_list_remove(sh_list_t *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = n;
}

/** Appends |n| (removing it first from any list it is on). */
static inline void sh_list_push_back(sh_list_t *head, sh_list_t *n)
{
    sh_list_remove(n);
    n->prev = head->prev;
    n->next = head;
    head->prev->next = n;
    head->prev = n;
}

static inline sh_list_t *sh_list_first(const sh_list_t *head)
{
    return head->next == head ? NULL : head->next;
}

#endif /* SH_BASE_LIST_H */
