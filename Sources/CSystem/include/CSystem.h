// What Swift's Glibc module does not export: epoll and eventfd.
#ifndef CHORUS_CSYSTEM_H
#define CHORUS_CSYSTEM_H
#include <sys/epoll.h>
#include <sys/eventfd.h>
#endif
