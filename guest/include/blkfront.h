/* blkfront.h: the PV block frontend. */
#ifndef PVX_BLKFRONT_H
#define PVX_BLKFRONT_H
#include "xenbus_dev.h"
struct blkfront {
  struct xenbus_dev dev;
  int connected, flush, readonly;
  u32 port;
  ulong sectors, sector_size, requests;
};
extern struct blkfront blk;
int blkfront_init(void); /* 0 connected, 1 no device, <0 error */
int blkfront_io(int op, ulong sector, void *buf, ulong nsect);
#endif
