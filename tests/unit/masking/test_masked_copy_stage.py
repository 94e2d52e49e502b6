"""The staging tables' DDL: which indexes are built after the load, and which stay in the CREATE."""
from __future__ import annotations

from data_masking.masked_copy import split_create

DDL = """CREATE TABLE `t``x` (
  `id` int(11) NOT NULL,
  `seq` int(11) NOT NULL AUTO_INCREMENT,
  `order_id` bigint(20) NOT NULL,
  `doc` longtext DEFAULT NULL,
  `body` text NOT NULL,
  PRIMARY KEY (`id`,`order_id`),
  UNIQUE KEY `uq` (`order_id`,`doc`(20)),
  KEY `by_seq` (`seq`,`order_id`),
  KEY `by_order` (`order_id`),
  KEY `odd``name` (`doc`(10),`order_id`),
  FULLTEXT KEY `ft` (`body`),
  CONSTRAINT `fk_1` FOREIGN KEY (`order_id`) REFERENCES `shop_order` (`id`) ON DELETE NO ACTION ON UPDATE NO ACTION,
  CONSTRAINT `CONSTRAINT_1` CHECK (json_valid(`doc`))
) ENGINE=InnoDB AUTO_INCREMENT=5 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci"""


def test_plain_keys_and_foreign_keys_are_deferred_the_rest_stays():
    create, deferred = split_create(DDL)
    assert deferred.indexes == ["ADD KEY `by_order` (`order_id`)", "ADD KEY `odd``name` (`doc`(10),`order_id`)"]
    assert deferred.foreign_keys == ["ADD CONSTRAINT `fk_1` FOREIGN KEY (`order_id`) REFERENCES `shop_order` (`id`) "
                                     "ON DELETE NO ACTION ON UPDATE NO ACTION"]
    assert create == """CREATE TABLE `t``x` (
  `id` int(11) NOT NULL,
  `seq` int(11) NOT NULL AUTO_INCREMENT,
  `order_id` bigint(20) NOT NULL,
  `doc` longtext DEFAULT NULL,
  `body` text NOT NULL,
  PRIMARY KEY (`id`,`order_id`),
  UNIQUE KEY `uq` (`order_id`,`doc`(20)),
  KEY `by_seq` (`seq`,`order_id`),
  FULLTEXT KEY `ft` (`body`),
  CONSTRAINT `CONSTRAINT_1` CHECK (json_valid(`doc`))
) ENGINE=InnoDB AUTO_INCREMENT=5 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci"""


def test_a_table_with_only_a_primary_key_is_unchanged():
    ddl = "CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB"
    create, deferred = split_create(ddl)
    assert create == ddl and not deferred.indexes and not deferred.foreign_keys
